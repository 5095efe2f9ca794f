//! A pool written in the format every earlier version wrote (connection settings as the JSON of
//! the typed settings, shares as JSON) opens unchanged now that the pool stores them untyped and
//! lakeport-core types them: both connection types read back as they were, the shares too, the
//! extraction settings reach lakeport-extract through the pool, a re-save writes the same JSON,
//! and the zero-copy connection's shares are in the query session. A row that does not read
//! back is an error naming the connection, never a default. No network: nothing here connects.

use lakeport_core::{ConnectionConfig, PoolError, ZeroCopyAuth};
use lakeport_pool::PoolDir;

/// An S3 extraction connection's row, as lakeport wrote it before (serde's internally tagged
/// `ConnectionConfig`, fields in declaration order).
const S3_ROW: &str = r#"{"type":"s3-extraction","region":"eu-central-1","bucket":"sales","access_key_id":"AKIAEXAMPLE","endpoint":"http://127.0.0.1:9000","path_style":true,"allow_http":true,"allow_http_anywhere":false,"concurrency":4,"max_retries":5}"#;
/// A zero-copy connection's row (assumed role: no secret file).
const ZERO_COPY_ROW: &str = r#"{"type":"zero-copy","region":"us-east-1","catalog_url":null,"warehouse":"123456789012","auth":{"method":"assume-role","role_arn":"arn:aws:iam::123456789012:role/lakeport","external_id":"ext-1"},"signing_name":"glue","s3_endpoint":null,"s3_path_style":false,"sts_endpoint":null,"allow_http":false,"vended_credentials":false}"#;
/// Its shares row: a namespace share with its tables.
const SHARES_ROW: &str = r#"[{"share":{"namespace":"sales","table":null},"tables":["orders","customers"]}]"#;

#[tokio::test]
async fn a_pool_written_in_the_earlier_format_opens_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let pool = PoolDir::open(dir.path()).await.unwrap().create_pool("p").await.unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("catalog.db").display())).await.unwrap();
    for (name, config) in [("src", S3_ROW), ("lake", ZERO_COPY_ROW)] {
        sqlx::query("INSERT INTO lakeport_connections (pool, name, config, created_at) VALUES ('p', ?, ?, '2026-01-02T03:04:05+00:00')")
            .bind(name)
            .bind(config)
            .execute(&db)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO lakeport_shares (pool, connection, shares) VALUES ('p', 'lake', ?)").bind(SHARES_ROW).execute(&db).await.unwrap();

    // Typed as before.
    let conns = lakeport_core::connections(&pool).await.unwrap();
    assert_eq!(conns.iter().map(|c| (c.name.as_str(), c.config.type_name())).collect::<Vec<_>>(), [("lake", "zero-copy"), ("src", "s3-extraction")]);
    assert_eq!(conns[0].created_at.to_rfc3339(), "2026-01-02T03:04:05+00:00");
    let ConnectionConfig::S3Extraction(s3) = &conns[1].config else { panic!("{:?}", conns[1].config) };
    assert_eq!((s3.bucket.as_str(), s3.endpoint.as_deref(), s3.path_style, s3.concurrency), ("sales", Some("http://127.0.0.1:9000"), true, 4));
    let ConnectionConfig::ZeroCopy(zc) = &conns[0].config else { panic!("{:?}", conns[0].config) };
    assert_eq!(zc.auth, ZeroCopyAuth::AssumeRole { role_arn: "arn:aws:iam::123456789012:role/lakeport".into(), external_id: "ext-1".into() });
    let shares = lakeport_core::shares(&pool, "lake").await.unwrap();
    assert_eq!((shares.len(), shares[0].share.to_string(), shares[0].tables.clone()), (1, "sales".to_string(), vec!["orders".to_string(), "customers".to_string()]));

    // The extraction settings as lakeport-extract reads them (through the pool, untyped store).
    assert_eq!(pool.connection("src").await.unwrap().s3_extraction().unwrap().as_ref(), Some(s3));
    assert_eq!(pool.connection("lake").await.unwrap().s3_extraction().unwrap(), None);

    // The shared tables are the pool's tables, and catalogs of its query session.
    let tables = serde_json::to_value(lakeport_core::pool_tables(&pool).await.unwrap()).unwrap();
    let names: Vec<&str> = tables.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lake.sales.customers", "lake.sales.orders"]);
    let session = lakeport_core::session(&pool).await.unwrap();
    assert!(session.catalog_names().contains(&"lake".to_string()), "{:?}", session.catalog_names());

    // A re-save writes the JSON it read (the same settings, the same text on disk).
    for c in &conns {
        pool.update_connection(&c.name, &c.config, None).await.unwrap();
    }
    let stored = |name: &'static str| {
        let db = db.clone();
        async move {
            let text: String = sqlx::query_scalar("SELECT config FROM lakeport_connections WHERE name = ?").bind(name).fetch_one(&db).await.unwrap();
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        }
    };
    assert_eq!(stored("src").await, serde_json::from_str::<serde_json::Value>(S3_ROW).unwrap());
    assert_eq!(stored("lake").await, serde_json::from_str::<serde_json::Value>(ZERO_COPY_ROW).unwrap());
}

#[tokio::test]
async fn stored_settings_that_do_not_read_back_are_an_error_naming_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let pool = PoolDir::open(dir.path()).await.unwrap().create_pool("p").await.unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("catalog.db").display())).await.unwrap();
    let put = |name: &'static str, config: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query("INSERT OR REPLACE INTO lakeport_connections (pool, name, config, created_at) VALUES ('p', ?, ?, '2026-01-02T03:04:05+00:00')")
                .bind(name)
                .bind(config)
                .execute(&db)
                .await
                .unwrap()
        }
    };

    // A type lakeport does not know: the pool still lists it (untyped), core refuses to guess.
    put("odd", r#"{"type":"ftp","host":"x"}"#).await;
    assert_eq!(pool.connection("odd").await.unwrap().kind, "ftp");
    let err = lakeport_core::connection(&pool, "odd").await.unwrap_err();
    assert!(matches!(&err, lakeport_core::CoreError::Pool(PoolError::Corrupt { what, .. }) if what.contains("connection 'odd'")), "{err}");
    assert!(lakeport_core::connections(&pool).await.is_err());

    // A known type with a member missing: the same.
    put("odd", r#"{"type":"s3-extraction","region":"eu-central-1"}"#).await;
    let err = lakeport_core::connection(&pool, "odd").await.unwrap_err().to_string();
    assert!(err.contains("connection 'odd' of pool 'p' is corrupt") && err.contains("bucket"), "{err}");
    let err = pool.connection("odd").await.unwrap().s3_extraction().unwrap_err();
    assert!(matches!(err, PoolError::Corrupt { .. }), "{err}");

    // Settings without a type are corrupt for the pool itself.
    put("odd", r#"{"region":"eu-central-1"}"#).await;
    let err = pool.connections().await.unwrap_err();
    assert!(matches!(&err, PoolError::Corrupt { what, .. } if what.contains("connection 'odd'")), "{err}");

    // Shares belong to zero-copy connections; shares that do not read back are corrupt.
    put("odd", S3_ROW).await;
    let err = lakeport_core::set_shares(&pool, "odd", &[]).await.unwrap_err();
    assert_eq!(err.kind(), lakeport_core::ErrorKind::Invalid, "{err}");
    put("lake", ZERO_COPY_ROW).await;
    sqlx::query("INSERT INTO lakeport_shares (pool, connection, shares) VALUES ('p', 'lake', '[{\"share\":7}]')").execute(&db).await.unwrap();
    let err = lakeport_core::shares(&pool, "lake").await.unwrap_err().to_string();
    assert!(err.contains("shares of connection 'lake'") && err.contains("corrupt"), "{err}");
}
