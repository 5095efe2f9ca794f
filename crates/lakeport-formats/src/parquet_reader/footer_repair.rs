//! A Parquet footer (Thrift compact protocol) re-encoded without the fields whose wire type
//! contradicts parquet.thrift. Thrift readers generated from the spec (Arrow C++, parquet-mr)
//! skip such a field; the parquet crate's own footer parser reads it as the type it expects and
//! loses its place (`dict-page-offset-zero.parquet`, written by a Dremio build of parquet-mr,
//! has a list where the spec has `15: optional i32 bloom_filter_length`). Only optional fields of
//! `ColumnChunk` and `ColumnMetaData` are checked: the ones writers have got wrong. Nothing here
//! interprets values; the footer is parsed into a tree of fields and written back unchanged
//! except for the dropped fields (field ids are delta-encoded, so the rest is re-encoded).

/// Compact protocol type codes.
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const I32: u8 = 5;
const I64: u8 = 6;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

enum Value {
    /// The value's bytes as encoded (empty for a bool field, whose value is in its type code).
    Raw(Vec<u8>),
    Struct(Vec<(i16, u8, Value)>),
    List(u8, Vec<Value>),
    Map(u8, u8, Vec<(Value, Value)>),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn value(&mut self, t: u8, in_field: bool) -> Option<Value> {
        let start = self.pos;
        match t {
            BOOL_TRUE | BOOL_FALSE if in_field => Some(Value::Raw(Vec::new())),
            BOOL_TRUE | BOOL_FALSE | 3 => {
                self.byte()?;
                Some(Value::Raw(self.buf[start..self.pos].to_vec()))
            }
            4 | I32 | I64 => {
                self.varint()?;
                Some(Value::Raw(self.buf[start..self.pos].to_vec()))
            }
            7 => {
                self.pos = self.pos.checked_add(8).filter(|p| *p <= self.buf.len())?;
                Some(Value::Raw(self.buf[start..self.pos].to_vec()))
            }
            8 => {
                let n = self.varint()? as usize;
                self.pos = self.pos.checked_add(n).filter(|p| *p <= self.buf.len())?;
                Some(Value::Raw(self.buf[start..self.pos].to_vec()))
            }
            LIST | SET => {
                let h = self.byte()?;
                let n = if h >> 4 == 15 { self.varint()? as usize } else { (h >> 4) as usize };
                let et = h & 0x0f;
                let mut items = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    items.push(self.nested(|r| r.value(et, false))?);
                }
                Some(Value::List(et, items))
            }
            MAP => {
                let n = self.varint()? as usize;
                if n == 0 {
                    return Some(Value::Map(0, 0, Vec::new()));
                }
                let kv = self.byte()?;
                let (kt, vt) = (kv >> 4, kv & 0x0f);
                let mut items = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    let k = self.nested(|r| r.value(kt, false))?;
                    let v = self.nested(|r| r.value(vt, false))?;
                    items.push((k, v));
                }
                Some(Value::Map(kt, vt, items))
            }
            STRUCT => self.nested(|r| r.structure()),
            _ => None,
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Option<Value>) -> Option<Value> {
        if self.depth > 64 {
            return None;
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn structure(&mut self) -> Option<Value> {
        let mut fields = Vec::new();
        let mut last = 0i16;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Some(Value::Struct(fields));
            }
            let (delta, t) = (h >> 4, h & 0x0f);
            let id = if delta == 0 {
                let z = self.varint()?;
                ((z >> 1) as i64 ^ -((z & 1) as i64)) as i16
            } else {
                last.checked_add(delta as i16)?
            };
            last = id;
            let v = self.value(t, true)?;
            fields.push((id, t, v));
        }
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Raw(b) => out.extend_from_slice(b),
        Value::Struct(fields) => {
            let mut last = 0i16;
            for (id, t, v) in fields {
                let delta = id.wrapping_sub(last);
                if (1..=15).contains(&delta) {
                    out.push(((delta as u8) << 4) | t);
                } else {
                    out.push(*t);
                    write_varint(out, (((*id as i64) << 1) ^ ((*id as i64) >> 63)) as u64);
                }
                last = *id;
                write(out, v);
            }
            out.push(0);
        }
        Value::List(et, items) => {
            if items.len() < 15 {
                out.push(((items.len() as u8) << 4) | et);
            } else {
                out.push(0xf0 | et);
                write_varint(out, items.len() as u64);
            }
            items.iter().for_each(|i| write(out, i));
        }
        Value::Map(kt, vt, items) => {
            write_varint(out, items.len() as u64);
            if !items.is_empty() {
                out.push((kt << 4) | vt);
            }
            for (k, v) in items {
                write(out, k);
                write(out, v);
            }
        }
    }
}

/// The optional fields of ColumnChunk (ids 4-7: index offsets and lengths) and ColumnMetaData
/// (ids 10-17) with the wire type parquet.thrift gives them.
fn expected_type(in_metadata: bool, id: i16) -> Option<u8> {
    Some(match (in_metadata, id) {
        (false, 4 | 6) | (true, 10 | 11 | 14) => I64,
        (false, 5 | 7) | (true, 15) => I32,
        (true, 12 | 16 | 17) => STRUCT,
        (true, 13) => LIST,
        _ => return None,
    })
}

fn type_matches(expected: u8, actual: u8) -> bool {
    expected == actual
}

/// Drops mistyped optional fields of every column chunk; counts what it dropped.
fn repair_column_chunk(v: &mut Value, dropped: &mut usize) {
    let Value::Struct(fields) = v else { return };
    let before = fields.len();
    fields.retain(|(id, t, _)| expected_type(false, *id).is_none_or(|e| type_matches(e, *t)));
    *dropped += before - fields.len();
    for (id, _, meta) in fields.iter_mut() {
        if *id == 3 {
            if let Value::Struct(mf) = meta {
                let before = mf.len();
                mf.retain(|(id, t, _)| expected_type(true, *id).is_none_or(|e| type_matches(e, *t)));
                *dropped += before - mf.len();
            }
        }
    }
}

/// The footer with mistyped fields dropped, or `None` if it cannot be parsed or nothing was dropped.
pub(super) fn drop_mistyped_fields(footer: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader { buf: footer, pos: 0, depth: 0 };
    let mut root = r.structure()?;
    let mut dropped = 0;
    if let Value::Struct(fields) = &mut root {
        for (id, _, v) in fields.iter_mut() {
            // FileMetaData 4: row_groups → RowGroup 1: columns → ColumnChunk.
            if let (4, Value::List(_, groups)) = (*id, v) {
                for g in groups.iter_mut() {
                    if let Value::Struct(gf) = g {
                        for (gid, _, cols) in gf.iter_mut() {
                            if let (1, Value::List(_, cols)) = (*gid, cols) {
                                cols.iter_mut().for_each(|c| repair_column_chunk(c, &mut dropped));
                            }
                        }
                    }
                }
            }
        }
    }
    if dropped == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(footer.len());
    write(&mut out, &root);
    Some(out)
}

/// The length in bytes of the Thrift PageHeader at the start of `bytes` and its page type
/// (field 1: 0 data, 2 dictionary, 3 data v2), if it parses.
pub(super) fn page_header(bytes: &[u8]) -> Option<(usize, i32)> {
    let mut r = Reader { buf: bytes, pos: 0, depth: 0 };
    let Value::Struct(fields) = r.structure()? else { return None };
    let (_, _, Value::Raw(t)) = fields.iter().find(|(id, t, _)| *id == 1 && *t == I32)? else { return None };
    let z = Reader { buf: t, pos: 0, depth: 0 }.varint()?;
    Some((r.pos, ((z >> 1) as i64 ^ -((z & 1) as i64)) as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_identity_and_mistyped_fields_go() {
        // struct { 1: i32 1, 4: list<struct{1: list<struct{3: struct{15: list<i32> [], 11: i64 0}}>}> }
        let meta = vec![(15i16, LIST, Value::List(I32, vec![])), (11, I64, Value::Raw(vec![0]))];
        let chunk = Value::Struct(vec![(3, STRUCT, Value::Struct(meta))]);
        let group = Value::Struct(vec![(1, LIST, Value::List(STRUCT, vec![chunk]))]);
        let root = Value::Struct(vec![(1, I32, Value::Raw(vec![2])), (4, LIST, Value::List(STRUCT, vec![group]))]);
        let mut bytes = Vec::new();
        write(&mut bytes, &root);
        let mut r = Reader { buf: &bytes, pos: 0, depth: 0 };
        let mut again = Vec::new();
        write(&mut again, &r.structure().unwrap());
        assert_eq!(again, bytes);
        let repaired = drop_mistyped_fields(&bytes).unwrap();
        assert!(repaired.len() < bytes.len());
        assert!(drop_mistyped_fields(&repaired).is_none(), "nothing left to drop");
    }

    /// The file of parquet-testing this exists for: the parquet crate refuses its footer, and
    /// reads the repaired one with every value the original holds.
    #[test]
    fn dict_page_offset_zero_footer() {
        let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/corpora/parquet-testing/data/dict-page-offset-zero.parquet")).unwrap();
        let len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
        let footer = &file[file.len() - 8 - len..file.len() - 8];
        let e = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(footer).unwrap_err();
        assert!(e.to_string().contains("total_byte_size"), "{e}");
        let repaired = drop_mistyped_fields(footer).unwrap();
        // ColumnMetaData field 15 (24 bytes: a list of a struct where the spec has an i32) goes; nothing else.
        assert_eq!(repaired.len(), footer.len() - 24);
        let md = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(&repaired).unwrap();
        assert_eq!(md.file_metadata().num_rows(), 39);
        let c = md.row_group(0).column(0);
        assert_eq!((c.num_values(), c.data_page_offset(), c.dictionary_page_offset(), c.compressed_size()), (39, 4, Some(0), 40));
    }
}
