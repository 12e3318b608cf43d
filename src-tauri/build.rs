include!("src/command_names.rs");

fn main() {
    // Declaring the commands makes Tauri generate `allow-<command>` permissions and,
    // more to the point, deny every app command a capability does not grant.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)).expect("tauri-build failed");
}
