//! The byte pipeline in front of the text readers: decompression (gzip/zstd, by name or by magic
//! bytes), a size guard against decompression bombs, UTF-8 BOM removal and latin-1 transcoding.

use std::pin::Pin;

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream};
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

use crate::{Compression, Encoding, FileFormat, FileKind, FormatError, ReadOptions};

/// An object's raw bytes as they arrive from the source.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

const CHUNK: usize = 256 * 1024;
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

pub(crate) struct Chunks {
    name: String,
    reader: Pin<Box<dyn AsyncRead + Send>>,
    latin1: bool,
    at_start: bool,
    total: u64,
    limit: u64,
    compressed: bool,
}

impl Chunks {
    pub(crate) async fn open(name: &str, kind: FileKind, mut stream: ByteStream, options: &ReadOptions) -> Result<Chunks, FormatError> {
        // Peek at the first bytes so a compressed object without a .gz/.zst name is still read.
        let first = match stream.next().await {
            Some(Ok(b)) => b,
            Some(Err(e)) => return Err(FormatError::Read { file: name.to_string(), message: e.to_string() }),
            None => Bytes::new(),
        };
        let compression = match kind.compression {
            Compression::None if first.starts_with(GZIP_MAGIC) => Compression::Gzip,
            Compression::None if first.starts_with(ZSTD_MAGIC) => Compression::Zstd,
            c => c,
        };
        let raw = StreamReader::new(stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(stream));
        let reader: Pin<Box<dyn AsyncRead + Send>> = match compression {
            Compression::None => Box::pin(raw),
            Compression::Gzip => {
                let mut d = GzipDecoder::new(raw);
                d.multiple_members(true);
                Box::pin(d)
            }
            Compression::Zstd => Box::pin(ZstdDecoder::new(raw)),
        };
        Ok(Chunks {
            name: name.to_string(),
            reader,
            latin1: kind.format == FileFormat::Csv && options.csv.encoding == Encoding::Latin1,
            at_start: true,
            total: 0,
            limit: options.max_decompressed_bytes,
            compressed: compression != Compression::None,
        })
    }

    /// The next chunk of decoded text bytes, `None` at the end of the object.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, FormatError> {
        let mut buf = BytesMut::with_capacity(CHUNK);
        let n = self.reader.read_buf(&mut buf).await.map_err(|e| FormatError::Read {
            file: self.name.clone(),
            message: if self.compressed { format!("decompression failed: {e}") } else { e.to_string() },
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.total += n as u64;
        if self.total > self.limit {
            return Err(FormatError::Read {
                file: self.name.clone(),
                message: format!("decompressed size exceeds the limit of {} bytes (a decompression bomb?)", self.limit),
            });
        }
        let mut bytes = buf.freeze();
        if self.at_start {
            self.at_start = false;
            if bytes.starts_with(b"PAR1") {
                return Err(FormatError::Unsupported {
                    file: self.name.clone(),
                    message: "this is a Parquet file, not text: give it a .parquet name".into(),
                });
            }
            if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                bytes = bytes.slice(3..);
            }
        }
        if self.latin1 && bytes.iter().any(|b| *b >= 0x80) {
            // ISO-8859-1 maps each byte to the code point of the same value.
            let s: String = bytes.iter().map(|&b| b as char).collect();
            bytes = Bytes::from(s.into_bytes());
        }
        Ok(Some(bytes))
    }
}
