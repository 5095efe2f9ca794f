// Shared by the reader targets: read one input end to end as the given file name.
use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Schema};
use futures::{StreamExt, TryStreamExt};
use lakeport_formats::{open_text, FileKind, ReadOptions};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

/// Opens, infers and decodes `data`. Errors are fine (they must name the file); panics are not.
pub fn read(name: &str, data: &[u8]) {
    let options = ReadOptions { infer_rows: 20, batch_size: 7, max_decompressed_bytes: 1 << 24, ..ReadOptions::default() };
    // Split the input in uneven chunks, as a network body would arrive.
    let chunks: Vec<std::io::Result<bytes::Bytes>> = data.chunks(13).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
    runtime().block_on(async {
        let kind = FileKind::from_key(name).unwrap();
        match open_text(name, kind, futures::stream::iter(chunks).boxed(), &options).await {
            Err(e) => assert!(e.to_string().contains(name), "{e}"),
            Ok(file) => {
                let target = Arc::new(Schema::new(
                    file.schema()
                        .fields()
                        .iter()
                        .map(|f| f.as_ref().clone().with_data_type(if f.data_type() == &DataType::Null { DataType::Utf8 } else { f.data_type().clone() }))
                        .collect::<Vec<_>>(),
                ));
                if let Err(e) = file.into_batches(target, &options).try_collect::<Vec<_>>().await {
                    assert!(e.to_string().contains(name), "{e}");
                }
            }
        }
    });
}
