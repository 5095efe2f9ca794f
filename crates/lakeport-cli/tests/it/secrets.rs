//! Secrets never leak: every output of a full session — CLI stdout/stderr with debug logging on,
//! error messages, the job history, the pool directory on disk — is searched for the secret access
//! key, and for session-token material of an assumed role. Zero hits allowed.

use crate::common;


use common::lakeport;
use lakeport_testkit::TestS3;

#[tokio::test]
async fn no_output_log_error_or_file_contains_a_secret() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("secrets").await;
    bucket.put("d/a.csv", "id,v\n1,2\n").await;
    bucket.put("d/bad.csv", "id,v\n1,2\nx,y,z\n").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (key, secret) = s3.user("reader");
    let (gkey, gsecret) = s3.user("glue");
    let ns = format!("sec_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let fixture = std::process::Command::new(std::env::var("LAKEPORT_TEST_PYTHON").unwrap())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/iceberg_fixture.py"))
        .args([s3.endpoint.as_str(), ns.as_str(), "--rows", "10"])
        .output()
        .unwrap();
    assert!(fixture.status.success());
    let role = std::env::var("LAKEPORT_TEST_ROLE_ARN").unwrap();
    let external_id = std::env::var("LAKEPORT_TEST_EXTERNAL_ID").unwrap();
    let lakeport_secret = std::env::var("LAKEPORT_AWS_SECRET_ACCESS_KEY").unwrap();
    let catalog = format!("{}/iceberg", s3.endpoint);
    // Extraction connections without stored secrets: an assumed role, a profile chain of a shared
    // config file written here (holding lakeport's key), the default chain from the environment.
    let extract_role = std::env::var("LAKEPORT_TEST_EXTRACT_ROLE_ARN").unwrap();
    // Outside the pool directory, whose every file is scanned for secrets below.
    let aws_dir = tempfile::tempdir().unwrap();
    let aws_config = aws_dir.path().join("aws-config");
    std::fs::write(
        &aws_config,
        format!(
            "[profile base]\naws_access_key_id = {}\naws_secret_access_key = {lakeport_secret}\nendpoint_url = {ep}\n\n[profile chain]\nrole_arn = {extract_role}\nsource_profile = base\nexternal_id = {external_id}\nendpoint_url = {ep}\n",
            std::env::var("LAKEPORT_AWS_ACCESS_KEY_ID").unwrap(),
            ep = s3.endpoint
        ),
    )
    .unwrap();
    let aws_config = aws_config.display().to_string();
    let env: Vec<(&str, &str)> = vec![
        ("SECRET", secret.expose()),
        ("GSECRET", gsecret.expose()),
        ("LAKEPORT_LOG", "debug"),
        ("AWS_CONFIG_FILE", &aws_config),
        ("AWS_SHARED_CREDENTIALS_FILE", &aws_config),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ACCESS_KEY_ID", &key),
        ("AWS_SECRET_ACCESS_KEY", secret.expose()),
    ];
    let s3_args = |name: &'static str, secret_var: &'static str| -> Vec<String> {
        ["connection", "add", name, "--region", "us-east-1", "--bucket", &bucket.name, "--access-key-id", &key, "--secret-env", secret_var, "--endpoint", &s3.endpoint, "--path-style", "--allow-http"].iter().map(|s| s.to_string()).collect()
    };
    let mut runs: Vec<Vec<String>> = vec![
        vec!["pool".into(), "create".into(), "default".into()],
        s3_args("src", "SECRET"),
        s3_args("wrong", "GSECRET"), // the glue user's secret with the reader's key: a failing test
        vec!["connection".into(), "test".into(), "src".into()],
        vec!["connection".into(), "show".into(), "src".into()],
        vec!["connection".into(), "list".into(), "--json".into()],
        vec!["extract".into(), "-c".into(), "src".into(), "--file".into(), "d/a.csv".into(), "-v".into()],
        vec!["extract".into(), "-c".into(), "src".into(), "--folder".into(), "d".into(), "--json".into()],
        vec!["jobs".into(), "--json".into()],
        // A saved extraction that pseudonymises: the pool's key must never show.
        ["extraction", "create", "pseud", "-c", "src", "--folder", "d", "--pattern", "a.csv", "--pseudonymise", "v", "--webhook", "http://127.0.0.1:9/hook"].iter().map(|s| s.to_string()).collect(),
        vec!["extraction".into(), "run".into(), "pseud".into(), "-v".into()],
        vec!["extraction".into(), "run".into(), "pseud".into(), "--json".into()],
        vec!["extraction".into(), "show".into(), "pseud".into()],
        vec!["extraction".into(), "list".into(), "--json".into()],
        vec!["extraction".into(), "history".into(), "pseud".into(), "--json".into()],
        vec!["query".into(), "SELECT * FROM d".into(), "-v".into()],
    ];
    let zc = |name: &str, auth: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["connection", "add", name, "--zero-copy", "--region", "us-east-1", "--warehouse", "123456789012", "--catalog-url", &catalog, "--endpoint", &s3.endpoint, "--path-style", "--allow-http"].iter().map(|s| s.to_string()).collect();
        v.extend(auth.iter().map(|s| s.to_string()));
        v
    };
    runs.push(zc("glue", &["--access-key-id", &gkey, "--secret-env", "GSECRET"]));
    runs.push(zc("role", &["--role-arn", &role, "--external-id", &external_id, "--sts-endpoint", &s3.endpoint]));
    runs.push(vec!["connection".into(), "shares".into(), "role".into(), "--add".into(), ns.clone()]);
    runs.push(vec!["query".into(), format!("SELECT count(*) FROM role.{ns}.events"), "-v".into()]);
    runs.push(vec!["connection".into(), "show".into(), "role".into()]);
    runs.push(vec!["query".into(), "SELECT * FROM nowhere".into()]);
    for (name, auth) in [("xrole", vec!["--role-arn", extract_role.as_str(), "--external-id", external_id.as_str()]), ("xprofile", vec!["--profile", "chain"]), ("xchain", vec!["--default-chain"])] {
        let mut add: Vec<String> = ["connection", "add", name, "--region", "us-east-1", "--bucket", &bucket.name, "--endpoint", &s3.endpoint, "--path-style", "--allow-http"].iter().map(|s| s.to_string()).collect();
        add.extend(auth.iter().map(|s| s.to_string()));
        runs.push(add);
        runs.push(vec!["connection".into(), "test".into(), name.into()]);
        runs.push(vec!["connection".into(), "show".into(), name.into(), "--json".into()]);
        runs.push(vec!["extract".into(), "-c".into(), name.into(), "--file".into(), "d/a.csv".into(), "--table".into(), format!("t_{name}"), "-v".into()]);
    }

    let mut transcript = String::new();
    for args in &runs {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = lakeport(d, &env, &a);
        transcript.push_str(&String::from_utf8_lossy(&o.stdout));
        transcript.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    assert!(transcript.contains("Saved connection 'role'") && transcript.contains("FAIL") && transcript.contains("d/bad.csv"), "the session did what it should:\n{transcript}");
    for name in ["xrole", "xprofile", "xchain"] {
        assert!(transcript.contains(&format!("Saved connection '{name}'")), "{name} was added:\n{transcript}");
    }
    assert!(transcript.contains("assumed-role/lakeport-extraction/"), "the role and profile connections ran as the role:\n{transcript}");
    assert!(transcript.contains("DEBUG"), "debug logging was on");
    for (what, value) in [("reader secret", secret.expose()), ("glue secret", gsecret.expose()), ("lakeport identity secret", lakeport_secret.as_str())] {
        assert!(!transcript.contains(value), "{what} appears in the CLI output");
    }
    for marker in ["x-amz-security-token", "SessionToken", "SecretAccessKey"] {
        assert!(!transcript.contains(marker), "{marker} appears in the CLI output");
    }
    // The pool's pseudonymisation key: made by the runs above, owner-only, in no output.
    let key_file = d.join("secrets/default/pseudonymisation.key");
    let key_hex = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key_hex.len(), 64);
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let key_bytes: Vec<u8> = (0..64).step_by(2).map(|i| u8::from_str_radix(&key_hex[i..i + 2], 16).unwrap()).collect();
    assert!(!transcript.contains(&key_hex) && !transcript.contains(&key_hex.to_uppercase()), "the pseudonymisation key appears in the CLI output");
    assert!(transcript.contains("Saved extraction 'pseud'") && transcript.contains("\"trigger\": \"manual\""), "the extraction was saved and ran:\n{transcript}");
    let mut scanned = Vec::new();
    for file in lakeport_testkit::files_under(d) {
        if file.extension().is_some_and(|e| e == "secret") || file == key_file {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap();
        for value in [key_hex.as_bytes(), key_bytes.as_slice()] {
            assert!(!bytes.windows(value.len()).any(|w| w == value), "the pseudonymisation key is stored in {}", file.display());
        }
        for value in [secret.expose(), gsecret.expose(), lakeport_secret.as_str()] {
            assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()), "a secret is stored in {}", file.display());
        }
        scanned.push(file.file_name().unwrap().to_string_lossy().into_owned());
    }
    assert!(scanned.iter().any(|f| f == "catalog.db"), "the catalog (connections, job history) was scanned: {scanned:?}");
    assert!(scanned.iter().any(|f| f.ends_with(".metadata.json")) && scanned.iter().any(|f| f.ends_with(".parquet")), "{scanned:?}");
}
