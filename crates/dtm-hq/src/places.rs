//! The gazetteer over HTTP: the Locations page of the dashboard. Anyone signed in
//! reads it; admins add, rename, reclassify, retire and bring back locations. What a
//! change may do is dtm-core's (`Gazetteer::plan_add`, `plan_change`), decided by the
//! service inside the transaction that records it; devices receive the change with
//! their next pull.

use crate::error::{ApiJson, AppError};
use crate::routes::{Admin, AppState};
use crate::storage::{Actor, Caller};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use dtm_core::{ErrorCode, Location, LocationInput, Pcode};
use dtm_sync::api::{LocationList, LocationPatch};
use dtm_sync::wire::ErrorBody;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationsQuery {
    /// Only locations at this admin level (1 region to 4 muhalla).
    #[param(minimum = 1, maximum = 4)]
    level: Option<u8>,
    /// Only locations under this P-code (a mantika's, a baladiya's).
    within: Option<String>,
    /// Part of a name in English or Arabic (however the Arabic is spelt), or of a P-code.
    q: Option<String>,
    /// `true` lists retired locations too (marked); by default only those in use.
    retired: Option<bool>,
}

/// The most locations one answer lists; a search narrows the rest.
const LIST_LIMIT: usize = 500;

/// `GET /locations`: the gazetteer in force, filtered.
#[utoipa::path(
    get,
    path = "/locations",
    tag = "assessments",
    params(LocationsQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The locations that match, in P-code order (at most 500), and how many matched", body = LocationList),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
        (status = 422, description = "`unknown_pcode` (the within parameter is not a P-code)", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<LocationsQuery>,
) -> Result<Json<LocationList>, AppError> {
    let within = match q.within.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => Some(Pcode::parse(w).map_err(|_| {
            AppError::unprocessable(
                ErrorCode::UnknownPcode,
                format!("`{w}` is not a P-code to list the locations under"),
            )
        })?),
        None => None,
    };
    let places = state.storage.gazetteer().await?;
    let query = q.q.as_deref().map(str::trim).unwrap_or("");
    let found: Vec<&Location> = match query {
        "" => places.all().collect(),
        q => places.search(q, None, usize::MAX),
    };
    let matching: Vec<&Location> = found
        .into_iter()
        .filter(|l| q.level.is_none_or(|lv| l.level() == lv))
        .filter(|l| within.as_ref().is_none_or(|w| l.pcode.is_within(w)))
        .filter(|l| q.retired == Some(true) || !l.retired)
        .collect();
    let total = matching.len();
    Ok(Json(LocationList { locations: matching.into_iter().take(LIST_LIMIT).cloned().collect(), total }))
}

/// `POST /locations`: a location the gazetteer did not hold (a new muhalla, one split
/// from another), under a parent it holds.
#[utoipa::path(
    post,
    path = "/locations",
    tag = "assessments",
    request_body = LocationInput,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "The location as added; devices receive it with their next pull", body = Location),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 409, description = "`location_exists`", body = ErrorBody),
        (status = 422, description = "`unknown_pcode` (not a P-code), `unknown_parent`, `parent_retired`, `bad_location_name`, `bad_location_kind`, `bad_coordinates`", body = ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(new): ApiJson<LocationInput>,
) -> Result<(StatusCode, Json<Location>), AppError> {
    let location = state.storage.add_location(&Actor::from(&caller), new, state.now()).await?;
    Ok((StatusCode::CREATED, Json(location)))
}

/// `PATCH /locations/{pcode}`: renames, reclassifies, moves the point of, retires or
/// brings back a location.
#[utoipa::path(
    patch,
    path = "/locations/{pcode}",
    tag = "assessments",
    params(("pcode" = String, Path, description = "The location's P-code", example = "LY02110401")),
    request_body = LocationPatch,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The location as changed; devices receive it with their next pull", body = Location),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 404, description = "`not_found` (the gazetteer holds no such P-code)", body = ErrorBody),
        (status = 409, description = "`children_in_use` (retire what is under it first), `nothing_changed`", body = ErrorBody),
        (status = 422, description = "`parent_retired`, `bad_location_name`, `bad_location_kind`, `bad_coordinates`", body = ErrorBody),
    )
)]
pub async fn change(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(pcode): Path<String>,
    ApiJson(patch): ApiJson<LocationPatch>,
) -> Result<Json<Location>, AppError> {
    let location = state.storage.change_location(&Actor::from(&caller), &pcode, patch.change(), state.now()).await?;
    Ok(Json(location))
}
