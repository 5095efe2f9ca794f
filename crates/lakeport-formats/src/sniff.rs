//! CSV dialect detection from the sample: delimiter and header row, the way DuckDB's sniffer
//! decides them (its "dialect detection" and "header detection" steps), reduced to what lakeport
//! needs. (The Rust crates for this — `csv-sniffer`, `qsv-sniffer` — want a seekable file or path,
//! not a streamed sample, and pull in their own date parsing; these two rules are small.)
//!
//! - Delimiter: each candidate (`,` `\t` `;` `|`, the file's default first) splits the sampled
//!   records; the winner has the most records with the most frequent field count, then the most
//!   fields, then comes first. A candidate that gives one field per record only wins when all do.
//! - Header: the first record is data, not a header, when every one of its values fits the type
//!   inferred from the records below it and at least one of those types is not text (a row of
//!   numbers above numbers); otherwise it is a header. A file of one record: data when a value
//!   is typed (a number, a date, a boolean), else a header.

use csv::ByteRecord;

use crate::infer::ColumnStats;

pub(crate) const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];

/// How consistently `delimiter` splits `sample` into records: (records with the most frequent
/// field count, that field count).
fn consistency(sample: &[u8], delimiter: u8, quote: u8, escape: Option<u8>, limit: usize) -> (usize, usize) {
    let records = split(sample, delimiter, quote, escape, limit);
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for r in &records {
        match counts.iter_mut().find(|(n, _)| *n == r.len()) {
            Some((_, c)) => *c += 1,
            None => counts.push((r.len(), 1)),
        }
    }
    counts.iter().map(|&(n, c)| (c, n)).max().unwrap_or((0, 0))
}

/// The sample's records (at most `limit`) with this dialect.
pub(crate) fn split(sample: &[u8], delimiter: u8, quote: u8, escape: Option<u8>, limit: usize) -> Vec<ByteRecord> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .quote(quote)
        .escape(escape)
        .double_quote(escape.is_none())
        .flexible(true)
        .from_reader(sample);
    reader.byte_records().take(limit).map_while(Result::ok).collect()
}

/// The delimiter of `sample` (whole lines; see the module doc). `preferred` comes first among equals.
pub(crate) fn delimiter(sample: &[u8], preferred: u8, quote: u8, escape: Option<u8>) -> u8 {
    let order = std::iter::once(preferred).chain(CANDIDATES.into_iter().filter(|&d| d != preferred));
    let mut best: Option<(u8, (usize, usize))> = None;
    for d in order {
        let score = consistency(sample, d, quote, escape, 1000);
        match best {
            None => best = Some((d, score)),
            Some((_, b)) if score > b && score.1 > 1 => best = Some((d, score)),
            _ => {}
        }
    }
    best.map_or(preferred, |(d, _)| d)
}

/// Whether the first of `records` is a header (see the module doc); `nulls` are the texts read
/// as NULL.
pub(crate) fn has_header(records: &[ByteRecord], is_null: impl Fn(&str) -> bool) -> bool {
    let Some((first, rest)) = records.split_first() else { return true };
    if rest.is_empty() {
        // One record: data if any value is typed (a number, date, boolean), a header otherwise.
        return first.iter().all(|f| {
            let v = String::from_utf8_lossy(f);
            let mut s = ColumnStats::default();
            s.add(&v);
            is_null(&v) || matches!(s.data_type(), arrow_schema::DataType::Utf8)
        });
    }
    let width = first.len();
    let mut stats = vec![ColumnStats::default(); width];
    for r in rest {
        for (i, f) in r.iter().enumerate().take(width) {
            let v = String::from_utf8_lossy(f);
            if !is_null(&v) {
                stats[i].add(&v);
            }
        }
    }
    let types: Vec<_> = stats.iter().map(|s| s.data_type()).collect();
    let typed = types.iter().any(|t| !matches!(t, arrow_schema::DataType::Utf8 | arrow_schema::DataType::Null));
    let fits = first.iter().enumerate().all(|(i, f)| {
        let v = String::from_utf8_lossy(f);
        if is_null(&v) {
            return true;
        }
        let mut s = stats[i].clone();
        s.add(&v);
        s.data_type() == types[i]
    });
    !(typed && fits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(delimiter(b"a;b;c\n1;2,5;3\n4;5;6\n", b',', b'"', None), b';');
        assert_eq!(delimiter(b"a|b\n1|2\n", b',', b'"', None), b'|');
        assert_eq!(delimiter(b"a\tb\n1\t2\n", b',', b'"', None), b'\t');
        assert_eq!(delimiter(b"a,b;c\n1,2;3\n", b',', b'"', None), b',', "equal: the default wins");
        assert_eq!(delimiter(b"name\nhello, world\nx\n", b',', b'"', None), b',', "one column");
        assert_eq!(delimiter(b"a,b\n\"x;y\",2\n", b',', b'"', None), b',');
    }

    #[test]
    fn headers() {
        let recs = |s: &[u8]| split(s, b',', b'"', None, 100);
        let null = |v: &str| v.is_empty();
        assert!(has_header(&recs(b"id,name\n1,a\n2,b\n"), null));
        assert!(!has_header(&recs(b"1,a\n2,b\n"), null));
        assert!(has_header(&recs(b"a,b\nx,y\n"), null), "all text: a header");
        assert!(has_header(&recs(b"a,b\n"), null), "one record of text: a header");
        assert!(!has_header(&recs(b"42,x\n"), null), "one record with a number: data");
        assert!(!has_header(&recs(b"2024-01-01,5\n2024-01-02,6\n"), null));
    }
}
