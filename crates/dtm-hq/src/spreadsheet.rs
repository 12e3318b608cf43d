//! Reads an uploaded CSV or XLSX into rows of cells, for the import checks in
//! dtm-core. XLSX is recognised by its zip signature, whatever the file is called.

use std::io::Cursor;

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("the CSV cannot be read: {0}")]
    Csv(String),
    #[error("the XLSX cannot be read: {0}")]
    Xlsx(String),
    #[error("the file is neither UTF-8 CSV nor XLSX")]
    Unknown,
}

pub fn read(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else if std::str::from_utf8(bytes).is_ok() {
        read_csv(bytes)
    } else {
        Err(SheetError::Unknown)
    }
}

fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    reader
        .records()
        .map(|r| r.map(|rec| rec.iter().map(str::to_owned).collect()).map_err(|e| SheetError::Csv(e.to_string())))
        .collect()
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    let sheet = book.sheet_names().first().cloned().ok_or_else(|| SheetError::Xlsx("it has no sheet".into()))?;
    let range = book.worksheet_range(&sheet).map_err(|e| SheetError::Xlsx(e.to_string()))?;
    // Rows are numbered from A1 even when the sheet's used range starts lower down.
    let (top, left) = range.start().map(|(r, c)| (r as usize, c as usize)).unwrap_or((0, 0));
    let mut rows = vec![Vec::new(); top];
    for row in range.rows() {
        let mut cells = vec![String::new(); left];
        cells.extend(row.iter().map(|d| match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => b.to_string(),
            other => other.to_string(),
        }));
        rows.push(cells);
    }
    Ok(rows)
}
