//! Reads an uploaded CSV or XLSX into rows of cells, for the import checks in
//! dtm-core. XLSX is recognised by its zip signature, whatever the file is called.
//!
//! An upload is hostile until read: a 1.5 KB XLSX claiming cells at A1 and XFD1048576
//! once made the reader allocate 512 GiB and took HQ down. So the sheet is read cell by
//! cell, never as the dense range its header claims, and refused as soon as it goes
//! beyond [`MAX_ROWS`], [`MAX_COLUMNS`] or [`MAX_CELLS`]; the zip's declared sizes are
//! checked before anything is inflated.

use dtm_core::ErrorCode;
use std::io::Cursor;

/// A DTM Libya round has about 800 location rows, and its long nationality sheet about
/// 3,800; twenty thousand leaves room for any one country's round.
pub const MAX_ROWS: usize = 20_000;
/// The widest form (baladiya, 68 fields) with every module and tag column fits many
/// times over.
pub const MAX_COLUMNS: usize = 512;
/// Rows × columns of the grid handed to the checks (about 50 MB of cells at most).
pub const MAX_CELLS: usize = 2_000_000;
/// What the XLSX's parts may inflate to, in all. A real round's workbook is a few MB.
pub const MAX_INFLATED_BYTES: u64 = 200 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("the CSV cannot be read: {0}")]
    Csv(String),
    #[error("the XLSX cannot be read: {0}")]
    Xlsx(String),
    #[error("the file is neither UTF-8 CSV nor XLSX")]
    Unknown,
    #[error("the file is too large to import: {0}")]
    TooLarge(String),
}

impl SheetError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge(_) => ErrorCode::ImportRejected,
            _ => ErrorCode::UnreadableFile,
        }
    }
}

/// A file's sheets by name, in order: a CSV is one sheet with no name.
pub type Book = Vec<(String, Vec<Vec<String>>)>;

/// Every sheet of an XLSX (an export writes one per form and one per repeated group),
/// or a CSV's one.
pub fn read_book(bytes: &[u8]) -> Result<Book, SheetError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else if std::str::from_utf8(bytes).is_ok() {
        Ok(vec![(String::new(), read_csv(bytes)?)])
    } else {
        Err(SheetError::Unknown)
    }
}

/// The first sheet only.
#[cfg(test)]
pub fn read(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    Ok(read_book(bytes)?.into_iter().next().map(|(_, rows)| rows).unwrap_or_default())
}

fn too_many_rows() -> SheetError {
    SheetError::TooLarge(format!("it has more than {MAX_ROWS} rows"))
}

fn too_many_columns() -> SheetError {
    SheetError::TooLarge(format!("it has more than {MAX_COLUMNS} columns"))
}

fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| SheetError::Csv(e.to_string()))?;
        if rows.len() == MAX_ROWS {
            return Err(too_many_rows());
        }
        if record.len() > MAX_COLUMNS {
            return Err(too_many_columns());
        }
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

/// Refuses a zip whose parts claim to inflate beyond [`MAX_INFLATED_BYTES`].
fn check_inflated_size(bytes: &[u8]) -> Result<(), SheetError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|e| SheetError::Xlsx(e.to_string()))?;
        total = total.saturating_add(part.size());
    }
    if total > MAX_INFLATED_BYTES {
        return Err(SheetError::TooLarge(format!(
            "its parts inflate to {} MB, more than the {} MB a round's workbook needs",
            total / (1024 * 1024),
            MAX_INFLATED_BYTES / (1024 * 1024)
        )));
    }
    Ok(())
}

fn read_xlsx(bytes: &[u8]) -> Result<Book, SheetError> {
    use calamine::{Reader, Xlsx};
    check_inflated_size(bytes)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err(SheetError::Xlsx("it has no sheet".into()));
    }
    let mut out = Vec::new();
    let mut cells_read = 0usize;
    for name in names {
        let rows = read_sheet(&mut book, &name, &mut cells_read)?;
        out.push((name, rows));
    }
    Ok(out)
}

/// One sheet, cell by cell. `cells_read` counts the whole book's cells against
/// [`MAX_CELLS`], so many sheets cannot add up to more than one may hold.
fn read_sheet(
    book: &mut calamine::Xlsx<Cursor<&[u8]>>,
    sheet: &str,
    cells_read: &mut usize,
) -> Result<Vec<Vec<String>>, SheetError> {
    use calamine::DataRef;
    let mut cells = book.worksheet_cells_reader(sheet).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    // Only the cells the sheet holds, by position; the grid is built once they are
    // known to fit. Rows are numbered from A1 even when the used range starts lower.
    let mut sparse: Vec<(usize, usize, String)> = Vec::new();
    let (mut height, mut width) = (0usize, 0usize);
    while let Some(cell) = cells.next_cell().map_err(|e| SheetError::Xlsx(e.to_string()))? {
        let (row, col) = cell.get_position();
        let (row, col) = (row as usize, col as usize);
        if row >= MAX_ROWS {
            return Err(too_many_rows());
        }
        if col >= MAX_COLUMNS {
            return Err(too_many_columns());
        }
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) => s.clone(),
            DataRef::SharedString(s) => (*s).to_owned(),
            DataRef::Float(f) => f.to_string(),
            DataRef::Int(i) => i.to_string(),
            DataRef::Bool(b) => b.to_string(),
            other => calamine::Data::from(other.clone()).to_string(),
        };
        height = height.max(row + 1);
        width = width.max(col + 1);
        *cells_read += 1;
        if height.saturating_mul(width) > MAX_CELLS || *cells_read > MAX_CELLS {
            return Err(SheetError::TooLarge(format!(
                "its cells span {height} rows by {width} columns, more than {MAX_CELLS} cells"
            )));
        }
        sparse.push((row, col, text));
    }
    let mut rows = vec![Vec::new(); height];
    for (row, col, text) in sparse {
        let cells = &mut rows[row];
        if cells.len() <= col {
            cells.resize(col + 1, String::new());
        }
        cells[col] = text;
    }
    Ok(rows)
}

/// Writes export tables as one workbook: a sheet per table, three header rows (English
/// labels, Arabic labels, HXL tags) frozen above the data. Counts are written as numbers
/// so a spreadsheet sums them; everything else as text.
pub fn write_xlsx(tables: &[dtm_core::exchange::Table]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let arabic = Format::new().set_bold().set_reading_direction(2);
    let tag = Format::new().set_italic();
    for t in tables {
        let sheet = book.add_worksheet();
        // Sheet names are at most 31 characters and may not hold some punctuation.
        let name: String = t.name.chars().map(|c| if c == '.' { ' ' } else { c }).take(31).collect();
        sheet.set_name(&name)?;
        for (c, column) in t.columns.iter().enumerate() {
            let c =
                u16::try_from(c).map_err(|_| rust_xlsxwriter::XlsxError::ParameterError("too many columns".into()))?;
            sheet.write_string_with_format(0, c, &column.label.en, &bold)?;
            sheet.write_string_with_format(1, c, &column.label.ar, &arabic)?;
            sheet.write_string_with_format(2, c, &column.hxl, &tag)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r =
                u32::try_from(r + 3).map_err(|_| rust_xlsxwriter::XlsxError::ParameterError("too many rows".into()))?;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell.parse::<u64>() {
                    // P-codes and other text stay text; only plain whole numbers become numbers.
                    Ok(n) if !cell.starts_with('0') || cell == "0" => sheet.write_number(r, c, n as f64)?,
                    _ if cell.is_empty() => sheet,
                    _ => sheet.write_string(r, c, cell)?,
                };
            }
        }
        sheet.set_freeze_panes(3, 0)?;
    }
    book.save_to_buffer()
}

/// Writes a workbook laid out as DTM publishes it, sheet names and cells as given.
pub fn write_published(sheets: &[dtm_core::dtm_workbook::Sheet]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use dtm_core::dtm_workbook::Cell;
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    for s in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(&s.name)?;
        for (r, row) in s.rows.iter().enumerate() {
            let r = u32::try_from(r).map_err(|_| rust_xlsxwriter::XlsxError::ParameterError("too many rows".into()))?;
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c)
                    .map_err(|_| rust_xlsxwriter::XlsxError::ParameterError("too many columns".into()))?;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(r, c, *n)?;
                    }
                }
            }
        }
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal XLSX whose one sheet holds the given cells as inline strings.
    fn xlsx(cells: &[(&str, &str)], dimension: &str) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        let mut put = |name: &str, body: String| {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        };
        put("[Content_Types].xml", r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.into());
        put("_rels/.rels", r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into());
        put("xl/workbook.xml", r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.into());
        put("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.into());
        let body: String = cells
            .iter()
            .map(|(at, text)| format!(r#"<row><c r="{at}" t="inlineStr"><is><t>{text}</t></is></c></row>"#))
            .collect();
        put(
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>"#
            ),
        );
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn a_sheet_claiming_the_whole_grid_is_refused_without_allocating_it() {
        // Regression: cells at A1 and XFD1048576 made the reader allocate 512 GiB.
        let bomb = xlsx(&[("A1", "x"), ("XFD1048576", "y")], "A1:XFD1048576");
        assert!(bomb.len() < 4096, "the hostile file is tiny: {} bytes", bomb.len());
        let err = read(&bomb).unwrap_err();
        assert_eq!(err.code(), "import_rejected", "{err}");
    }

    #[test]
    fn a_sheet_far_wider_or_longer_than_a_round_is_refused() {
        assert_eq!(read(&xlsx(&[("A1", "x"), ("A20001", "y")], "A1:A20001")).unwrap_err().code(), "import_rejected");
        assert_eq!(read(&xlsx(&[("A1", "x"), ("TA1", "y")], "A1:TA1")).unwrap_err().code(), "import_rejected");
        let csv = "a\n".repeat(MAX_ROWS + 1);
        assert_eq!(read(csv.as_bytes()).unwrap_err().code(), "import_rejected");
    }

    #[test]
    fn cells_keep_their_place_from_a1() {
        let rows = read(&xlsx(&[("B2", "tag"), ("C4", "12")], "B2:C4")).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1], ["", "tag"]);
        assert_eq!(rows[3], ["", "", "12"]);
    }
}
