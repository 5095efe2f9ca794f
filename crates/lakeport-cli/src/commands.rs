use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use lakeport_core::{
    self as core, caller_identity, sql_name, trust_policy, AddOutcome, ConnectionConfig, CsvOptions, DeletedObjects, ExtractRequest, ExtractionDefinition, Item, LoadMode,
    NewConnection, OnSchemaChange, Pool, PoolDir, QueryLimits, ReadOptions, RetryPolicy, S3Auth, S3Config, Schedule, Secret, TableSettings, TokenScope, Webhook, ZeroCopyAuth,
    ZeroCopyConfig,
};

use crate::args::{
    Cli, Command, JobsCommand, ConnectionAddArgs, ConnectionCommand, ConnectionUpdateArgs, DeletedArg, ExtractArgs, ExtractOptions, ExtractionArgs, ExtractionCommand, PoolCommand, QueryFormat, QueryLimitArgs, SchemaChangeArg, TableCommand, TokenCommand,
};
use crate::output;
use crate::progress::BarProgress;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let dir = PoolDir::open(&cli.pool_dir).await?;
    let json = cli.json;
    match cli.command {
        Command::Pool(PoolCommand::Vacuum { older_than_secs }) => {
            let pool = dir.pool(&cli.pool).await?;
            let report = pool.vacuum(std::time::Duration::from_secs(older_than_secs)).await?;
            if json {
                output::print_json(&report);
            } else {
                println!(
                    "Removed {} orphan file(s), {}; kept {} referenced file(s).",
                    report.files_removed,
                    output::bytes(report.bytes_removed),
                    report.files_kept
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pool(cmd) => pool_command(&dir, cmd, json).await,
        Command::Connection(cmd) => {
            let pool = dir.pool(&cli.pool).await?;
            connection_command(&pool, cmd, json).await
        }
        Command::Extract(args) => {
            let pool = dir.pool(&cli.pool).await?;
            core::runs::recover(&pool).await?;
            extract_command(&pool, args, json).await
        }
        Command::Extraction(cmd) => {
            let pool = dir.pool(&cli.pool).await?;
            core::runs::recover(&pool).await?;
            extraction_command(&pool, cmd, json).await
        }
        Command::Scheduler { interval_secs } => {
            core::runs::recover_all(&dir).await?;
            println!("Running saved extractions on their schedules (checking every {interval_secs} s); Ctrl-C stops.");
            let signal = Arc::new(std::sync::Mutex::new(None));
            let heard = signal.clone();
            core::scheduler::run(dir.clone(), std::time::Duration::from_secs(interval_secs), async move {
                *heard.lock().expect("signal") = Some(wait_for_signal().await);
            })
            .await;
            // Runs going on end as interrupted (each table old or new), recorded before the exit.
            let why = format!("lakeport scheduler received {} and stopped", signal.lock().expect("signal").unwrap_or("a signal"));
            tokio::select! {
                _ = core::runs::stop_all(&why) => {}
                name = wait_for_signal() => {
                    eprintln!("{name} again: stopping at once; unfinished runs are marked interrupted at the next start");
                    return Ok(ExitCode::from(130));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Snapshots { table } => {
            let pool = dir.pool(&cli.pool).await?;
            let snapshots = core::snapshots(&pool, &table).await?;
            if json {
                output::print_json(&snapshots);
            } else {
                let n = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
                output::print_rows(
                    &["snapshot", "committed (UTC)", "operation", "added rows", "deleted rows", "total rows", ""],
                    snapshots.iter().map(|s| {
                        vec![
                            s.snapshot_id.to_string(),
                            s.committed_at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                            s.operation.clone(),
                            n(s.added_rows),
                            n(s.deleted_rows),
                            n(s.total_rows),
                            if s.current { "current".into() } else { String::new() },
                        ]
                    }),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Query(args) => {
            let pool = dir.pool(&cli.pool).await?;
            let result = core::query_with(&pool, &args.sql, &limits(&args.limits, args.max_rows)).await?;
            let format = if json { QueryFormat::Json } else { args.format };
            output::print_batches(&result.schema, &result.batches, format)?;
            if result.truncated {
                eprintln!("note: only the first {} row(s) are shown; more were cut off by --max-rows", result.num_rows());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Table(TableCommand::Drop { name, yes }) => {
            let pool = dir.pool(&cli.pool).await?;
            pool.table(&name).await?;
            if !yes {
                confirm(&format!("Drop table '{name}' of pool '{}' and delete its data files? Type the table name to confirm: ", pool.name()), &name, &format!("dropping table '{name}' deletes its data"))?;
            }
            let report = pool.drop_table(&name).await?;
            if json {
                output::print_json(&report);
            } else {
                println!(
                    "Dropped table '{name}' ({} rows); removed {} file(s), {}{}.",
                    report.rows,
                    report.files_removed,
                    output::bytes(report.bytes_removed),
                    if report.files_left > 0 { format!("; {} unreferenced file(s) left for `lakeport pool vacuum`", report.files_left) } else { String::new() }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(cmd) => token_command(&dir, cmd, json).await,
        Command::Tables => {
            let pool = dir.pool(&cli.pool).await?;
            // Extracted tables, then the shared (zero-copy) ones as their selection lists them.
            let all = core::pool_tables(&pool).await?;
            if json {
                output::print_json(&all);
            } else {
                let tables: Vec<_> = all.iter().filter_map(|t| if let core::PoolTable::Extracted(i) = t { Some(i.clone()) } else { None }).collect();
                let shared: Vec<Vec<String>> =
                    all.iter().filter_map(|t| if let core::PoolTable::Shared { name, connection, .. } = t { Some(vec![name.clone(), connection.clone()]) } else { None }).collect();
                if !tables.is_empty() || shared.is_empty() {
                    output::print_tables(&tables);
                }
                if !shared.is_empty() {
                    println!("\nShared in place (zero-copy; queried as named, nothing copied):");
                    output::print_rows(&["table", "connection"], shared.into_iter());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen, token, limits: limit_args, max_rows, no_scheduler } => {
            let startup = lakeport_server::prepare_tokens(&dir, token.is_some()).await?;
            if startup.imported_legacy_file {
                println!("Moved the API token of {} into the token store (hashed); the file is deleted, the token keeps working.", dir.root().join("server.token").display());
            }
            if let Some(created) = &startup.created {
                println!("Admin API token '{}' (printed once; only its hash is stored — keep it now):\n  {}", created.info.name, created.token);
                println!("Web console: http://{listen}/#token={}", created.token);
            } else if token.is_some() {
                // The token came in by flag or environment: it is accepted, never stored.
                println!("Web console: http://{listen}/ (sign in with the admin token given by --token/LAKEPORT_TOKEN: accepted while this server runs, written nowhere; `lakeport token create` makes stored ones)");
            } else {
                println!("Web console: http://{listen}/ (sign in with an API token; `lakeport token create [--read-only]` makes one)");
            }
            if !listen.ip().is_loopback() {
                eprintln!("warning: listening on {listen}, which is reachable from other machines; protect the tokens (plain HTTP)");
            }
            let state = lakeport_server::AppState::new(dir.clone(), token)?.with_query_limits(limits(&limit_args, Some(max_rows)));
            if !no_scheduler {
                // The same loop as `lakeport scheduler`, beside the HTTP server.
                tokio::spawn(core::scheduler::run(dir.clone(), std::time::Duration::from_secs(15), std::future::pending::<()>()));
            }
            let signal = Arc::new(std::sync::Mutex::new(None));
            let heard = signal.clone();
            lakeport_server::serve(state.clone(), listen, async move {
                let name = wait_for_signal().await;
                *heard.lock().expect("signal") = Some(name);
            })
            .await?;
            // Runs going on end as interrupted (each table old or new), recorded before the exit.
            let name = signal.lock().expect("signal").unwrap_or("a signal");
            let why = format!("lakeport serve received {name} and stopped");
            let stopping = state.stop_runs(&why);
            tokio::select! {
                _ = stopping => {}
                name = wait_for_signal() => {
                    eprintln!("{name} again: stopping at once; unfinished runs are marked interrupted at the next start");
                    return Ok(ExitCode::from(130));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs { command: Some(JobsCommand::Show { id }), .. } => {
            let pool = dir.pool(&cli.pool).await?;
            core::runs::recover(&pool).await?;
            let job = core::runs::job_state(&pool, &id).await?;
            if json {
                output::print_json(&job);
            } else {
                output::print_job(&job.job);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs { limit, before, command: None } => {
            let pool = dir.pool(&cli.pool).await?;
            core::runs::recover(&pool).await?;
            let jobs = match before {
                None => pool.jobs(limit).await?,
                Some(id) => pool.jobs_page(limit, Some(&id), false).await?.jobs,
            };
            if json {
                output::print_json(&jobs);
            } else {
                output::print_jobs(&jobs);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn pool_command(dir: &PoolDir, cmd: PoolCommand, json: bool) -> Result<ExitCode> {
    match cmd {
        PoolCommand::Create { name, join, rest } => {
            let (catalog, secret) = rest_pool_catalog(rest)?;
            let (pool, joined) = dir.create_or_join_pool(&name, &catalog, secret.as_ref(), join).await?;
            if json {
                output::print_json(&serde_json::json!({ "created": name, "joined": joined }));
            } else if let (core::PoolCatalog::Rest(r), true) = (&catalog, joined) {
                // The namespace's tables, so the user sees they joined the pool they meant.
                let tables = pool.tables().await?.len();
                println!(
                    "Joined pool '{name}': its namespace exists in the Iceberg REST catalog {} ({tables} table(s)); new tables' files go under {}; this machine's connections, secrets and jobs in {}",
                    r.catalog_url,
                    r.pool_location(&name),
                    dir.root().display()
                );
            } else if let core::PoolCatalog::Rest(r) = &catalog {
                println!(
                    "Created pool '{name}': tables in the Iceberg REST catalog {} (namespace {name}), files under {}; connections, secrets and jobs in {}",
                    r.catalog_url,
                    r.pool_location(&name),
                    dir.root().display()
                );
            } else {
                println!("Created pool '{name}' in {}", dir.root().display());
            }
        }
        PoolCommand::List => {
            let pools = dir.list_pools().await?;
            if json {
                output::print_json(&pools);
            } else if pools.is_empty() {
                println!("No pools yet. Create one with `lakeport pool create <name>`.");
            } else {
                let catalog = |p: &core::PoolInfo| match &p.catalog_url {
                    Some(url) => format!("REST {url}"),
                    None => "embedded".to_string(),
                };
                output::print_rows(
                    &["pool", "tables", "connections", "created", "catalog"],
                    pools.iter().map(|p| {
                        let tables = p.tables.map_or_else(|| "?".to_string(), |n| n.to_string());
                        vec![p.name.clone(), tables, p.connections.to_string(), p.created_at.format("%Y-%m-%d %H:%M").to_string(), catalog(p)]
                    }),
                );
                for p in &pools {
                    if let Some(e) = &p.catalog_error {
                        println!("pool '{}': its tables could not be counted: {e}", p.name);
                    }
                }
            }
        }
        PoolCommand::Vacuum { .. } => unreachable!("handled with the pool selected"),
        PoolCommand::Drop { name, yes } => {
            if !yes {
                confirm(
                    &format!("Drop pool '{name}' with all its tables, connections and history? Type the pool name to confirm: "),
                    &name,
                    &format!("dropping pool '{name}' deletes all its tables"),
                )?;
            }
            dir.drop_pool(&name).await?;
            if !json {
                println!("Dropped pool '{name}'");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn limits(args: &QueryLimitArgs, max_rows: Option<usize>) -> QueryLimits {
    QueryLimits { memory_bytes: args.query_memory, time_limit: std::time::Duration::from_secs(args.query_timeout_secs), max_rows }
}

/// Asks on the terminal to type `expected`; without a terminal, asks for `--yes` instead.
fn confirm(prompt: &str, expected: &str, what: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("{what}; pass --yes to confirm");
    }
    eprint!("{prompt}");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != expected {
        bail!("not confirmed; nothing was dropped");
    }
    Ok(())
}

async fn token_command(dir: &PoolDir, cmd: TokenCommand, json: bool) -> Result<ExitCode> {
    match cmd {
        TokenCommand::Create { read_only, name } => {
            let scope = if read_only { TokenScope::ReadOnly } else { TokenScope::Admin };
            let created = dir.create_token(name.as_deref(), scope).await?;
            if json {
                output::print_json(&created);
            } else {
                println!("Created {} API token '{}' (id {}). It is shown only now; lakeport keeps only its hash:", scope.as_str(), created.info.name, created.info.id);
                println!("  {}", created.token);
            }
        }
        TokenCommand::List => {
            let tokens = dir.tokens().await?;
            if json {
                output::print_json(&tokens);
            } else if tokens.is_empty() {
                println!("No API tokens yet: `lakeport serve` makes an admin one at its first start, `lakeport token create` makes more.");
            } else {
                output::print_rows(
                    &["id", "name", "scope", "created"],
                    tokens.iter().map(|t| vec![t.id.clone(), t.name.clone(), t.scope.as_str().to_string(), t.created_at.format("%Y-%m-%d %H:%M").to_string()]),
                );
            }
        }
        TokenCommand::Revoke { token } => {
            let revoked = dir.revoke_token(&token).await?;
            if json {
                output::print_json(&revoked);
            } else {
                println!("Revoked API token '{}' (id {}); it no longer works.", revoked.name, revoked.id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The secret access key: from a file, a named variable, LAKEPORT_SECRET_ACCESS_KEY, or a prompt
/// without echo. It is never taken from the command line, where it would end up in shell history.
/// `pool create`'s catalog and its secret: embedded without --catalog-url.
fn rest_pool_catalog(a: crate::args::RestPoolArgs) -> Result<(core::PoolCatalog, Option<Secret>)> {
    let Some(catalog_url) = a.catalog_url.clone() else { return Ok((core::PoolCatalog::Embedded, None)) };
    let secret = |a: &crate::args::RestPoolArgs| read_secret_from(a.secret_file.as_ref(), a.secret_env.as_ref());
    let (auth, secret) = if let Some(role_arn) = &a.role_arn {
        (ZeroCopyAuth::AssumeRole { role_arn: role_arn.clone(), external_id: a.external_id.clone().unwrap_or_default() }, None)
    } else if a.bearer_token {
        (ZeroCopyAuth::Bearer, Some(secret(&a)?))
    } else if let Some(client_id) = &a.oauth2_client_id {
        let auth = ZeroCopyAuth::OAuth2 { client_id: client_id.clone(), scope: a.oauth2_scope.clone(), server_uri: a.oauth2_server_uri.clone() };
        (auth, Some(secret(&a)?))
    } else if let Some(key) = &a.access_key_id {
        (ZeroCopyAuth::AccessKey { access_key_id: key.clone() }, Some(secret(&a)?))
    } else {
        bail!("a REST-catalog pool needs one way to authenticate: --role-arn with --external-id, --access-key-id, --bearer-token, or --oauth2-client-id");
    };
    let settings = core::RestPoolSettings {
        catalog_url,
        location: a.location.unwrap_or_default(),
        catalog: core::CatalogSettings {
            region: a.region.unwrap_or_default(),
            warehouse: a.warehouse.unwrap_or_default(),
            auth,
            signing_name: a.signing_name,
            s3_endpoint: a.endpoint,
            s3_path_style: a.path_style,
            sts_endpoint: a.sts_endpoint,
            allow_http: a.allow_http || a.allow_http_anywhere,
            allow_http_anywhere: a.allow_http_anywhere,
        },
    };
    Ok((core::PoolCatalog::Rest(settings), secret))
}

fn read_secret(args: &ConnectionAddArgs) -> Result<Secret> {
    read_secret_from(args.secret_file.as_ref(), args.secret_env.as_ref())
}

fn read_secret_from(secret_file: Option<&std::path::PathBuf>, secret_env: Option<&String>) -> Result<Secret> {
    let value = if let Some(path) = secret_file {
        let mut s = String::new();
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut s)).with_context(|| format!("cannot read the secret file {}", path.display()))?;
        s.lines().next().unwrap_or_default().to_string()
    } else if let Some(var) = secret_env {
        std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?
    } else if let Ok(v) = std::env::var("LAKEPORT_SECRET_ACCESS_KEY") {
        v
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Secret access key: ")?
    } else {
        bail!("no secret access key: use --secret-env VAR, --secret-file FILE, LAKEPORT_SECRET_ACCESS_KEY, or run in a terminal to be prompted");
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        bail!("the secret access key is empty");
    }
    Ok(Secret::new(value))
}

async fn connection_command(pool: &Pool, cmd: ConnectionCommand, json: bool) -> Result<ExitCode> {
    match cmd {
        ConnectionCommand::Add(args) => {
            // Before asking for a secret (lakeport-core checks again before the test).
            pool.ensure_connection_name_free(&args.name).await?;
            if args.zero_copy {
                return add_zero_copy(pool, args, json).await;
            }
            let Some(bucket) = args.bucket.clone() else {
                bail!("an extraction connection needs --bucket");
            };
            let mut generated = false;
            let (auth, access_key_id, secret) = if let Some(role_arn) = &args.role_arn {
                let external_id = args.external_id.clone().unwrap_or_else(|| {
                    generated = true;
                    new_external_id()
                });
                (S3Auth::AssumeRole { role_arn: role_arn.clone(), external_id, session_seconds: args.session_seconds }, String::new(), None)
            } else if let Some(profile) = &args.profile {
                (S3Auth::Profile { profile: profile.clone() }, String::new(), None)
            } else if args.default_chain {
                (S3Auth::DefaultChain, String::new(), None)
            } else if let Some(key) = &args.access_key_id {
                (S3Auth::AccessKey, key.clone(), Some(read_secret(&args)?))
            } else {
                bail!("an extraction connection needs one way to authenticate: --access-key-id (with its secret), --role-arn, --profile NAME or --default-chain");
            };
            let config = S3Config {
                region: args.region.clone(),
                bucket,
                access_key_id,
                auth,
                sts_endpoint: args.sts_endpoint.clone(),
                endpoint: args.endpoint.clone(),
                path_style: args.path_style,
                allow_http: args.allow_http || args.allow_http_anywhere,
                allow_http_anywhere: args.allow_http_anywhere,
                concurrency: args.concurrency,
                max_retries: args.max_retries,
            };
            config.validate()?;
            if let (true, S3Auth::AssumeRole { external_id, .. }) = (generated, &config.auth) {
                let sts = config.sts_url()?;
                match caller_identity(&config.region, Some(sts.as_str()), config.allow_http).await {
                    Ok(principal) => eprintln!(
                        "Generated External ID {external_id}. Your role must trust lakeport's principal with it:\n{}\n",
                        trust_policy(&principal, external_id)
                    ),
                    Err(e) => eprintln!("Generated External ID {external_id} (lakeport's principal is unknown: {e})"),
                }
            }
            let new = NewConnection { name: args.name.clone(), config: ConnectionConfig::S3Extraction(config), secret };
            report_added(pool, &args.name, core::add_connection(pool, new, args.skip_test).await?, json).await
        }
        ConnectionCommand::Update(args) => update_connection(pool, args, json).await,
        ConnectionCommand::Test { name } => {
            let report = core::test_saved(pool, &name).await?;
            if json {
                output::print_json(&report);
            } else {
                output::print_test_report(&name, &report);
            }
            Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        ConnectionCommand::Namespaces { name } => {
            let listing = core::namespaces(pool, &name).await?;
            if json {
                output::print_json(&listing);
            } else if listing.is_empty() {
                println!("The catalog has no namespaces.");
            } else {
                let shares = core::shares(pool, &name).await?;
                for entry in &listing {
                    if entry.gone {
                        println!("{}  GONE: shared, but removed from the source catalog", entry.namespace);
                    } else {
                        println!("{}  ({} table(s))", entry.namespace, entry.tables.len());
                    }
                    for t in &entry.tables {
                        let shared = shares.iter().any(|s| s.share.namespace == entry.namespace && (s.share.table.is_none() || s.tables.contains(t)));
                        println!("  {} {t}{}", if shared { "[x]" } else { "[ ]" }, if entry.gone_tables.contains(t) { "  GONE" } else { "" });
                    }
                    for t in entry.gone_tables.iter().filter(|t| !entry.tables.contains(t)) {
                        println!("  [x] {t}  GONE: shared, but removed from the source catalog");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionCommand::Shares { name, add, remove, refresh } => {
            if !add.is_empty() || !remove.is_empty() || refresh {
                core::update_shares(pool, &name, &add, &remove, refresh).await?;
            }
            // Checked against the source catalog; when it cannot be reached, the saved selection.
            let shares = match core::share_status(pool, &name).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("warning: the shares were not checked against the catalog: {e}");
                    core::shares(pool, &name).await?.into_iter().map(|selected| core::ShareStatus { selected, gone: false, gone_tables: Vec::new(), new_tables: Vec::new() }).collect()
                }
            };
            if json {
                output::print_json(&shares);
            } else if shares.is_empty() {
                println!("No shares selected. Add some with `lakeport connection shares {name} --add <namespace>[.<table>]`.");
            } else {
                let catalog = lakeport_core::table_name_from(&name)?;
                println!("Shares of '{name}' (query them as {catalog}.<namespace>.<table>):");
                for s in &shares {
                    let ns = &s.selected.share.namespace;
                    let names = |tables: &[String]| tables.iter().map(|t| sql_name(&[&catalog, ns, t])).collect::<Vec<_>>().join(", ");
                    if s.gone {
                        let what = if s.selected.share.table.is_some() { "table" } else { "namespace" };
                        println!("  {:<30} GONE: the {what} was removed from the source catalog; deselect it with `lakeport connection shares {name} --remove {}`", s.selected.share.to_string(), s.selected.share);
                        continue;
                    }
                    let current: Vec<String> = s.selected.tables.iter().filter(|t| !s.gone_tables.contains(t)).cloned().collect();
                    println!("  {:<30} {}", s.selected.share.to_string(), names(&current));
                    if !s.new_tables.is_empty() {
                        println!("  {:<30} new in the source (queryable): {}", "", names(&s.new_tables));
                    }
                    if !s.gone_tables.is_empty() {
                        println!("  {:<30} GONE from the source: {} (`--refresh` drops them from the list)", "", names(&s.gone_tables));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionCommand::TrustPolicy { region, external_id, sts_endpoint, allow_http } => {
            let external_id = external_id.unwrap_or_else(new_external_id);
            let principal = caller_identity(&region, sts_endpoint.as_deref(), allow_http).await?;
            let policy = trust_policy(&principal, &external_id);
            if json {
                output::print_json(&serde_json::json!({ "principal": principal, "external_id": external_id, "trust_policy": serde_json::from_str::<serde_json::Value>(&policy)? }));
            } else {
                println!("lakeport runs as:  {principal}\nExternal ID:       {external_id}\n\nGive your IAM role this trust relationship:\n{policy}");
                println!("\nThen: lakeport connection add NAME --zero-copy --region … --warehouse <account id> --role-arn <role ARN> --external-id {external_id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionCommand::List => {
            let conns = core::connections(pool).await?;
            if json {
                output::print_json(&conns);
            } else if conns.is_empty() {
                println!("No connections in pool '{}'. Add one with `lakeport connection add`.", pool.name());
            } else {
                output::print_rows(
                    &["connection", "type", "bucket", "region", "endpoint"],
                    conns.iter().map(|c| match &c.config {
                        ConnectionConfig::S3Extraction(s) => {
                            vec![c.name.clone(), c.config.type_name().into(), s.bucket.clone(), s.region.clone(), s.endpoint.clone().unwrap_or_else(|| "AWS".into())]
                        }
                        ConnectionConfig::ZeroCopy(z) => vec![
                            c.name.clone(),
                            c.config.type_name().into(),
                            format!("warehouse {}", z.warehouse),
                            z.region.clone(),
                            z.catalog_url().map(|u| u.to_string()).unwrap_or_default(),
                        ],
                    }),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionCommand::Show { name } => {
            let conn = core::connection(pool, &name).await?;
            let mut value = serde_json::to_value(&conn)?;
            if pool.connection_secret_opt(&name)?.is_some() {
                value["secret"] = serde_json::Value::String("********".into());
            }
            let shares = if matches!(conn.config, ConnectionConfig::ZeroCopy(_)) { core::shares(pool, &name).await? } else { Vec::new() };
            if matches!(conn.config, ConnectionConfig::ZeroCopy(_)) {
                value["shares"] = serde_json::to_value(&shares)?;
            }
            if json {
                output::print_json(&value);
            } else {
                // The settings as `key: value` lines (nested ones flattened with dots).
                fn lines(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
                    match v {
                        serde_json::Value::Object(o) => o.iter().filter(|(k, _)| k.as_str() != "shares").for_each(|(k, v)| lines(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v, out)),
                        serde_json::Value::Null => {}
                        serde_json::Value::String(s) => out.push(format!("{prefix}: {s}")),
                        other => out.push(format!("{prefix}: {other}")),
                    }
                }
                let mut out = Vec::new();
                lines("", &value, &mut out);
                println!("{}", out.join("\n"));
                if let ConnectionConfig::ZeroCopy(z) = &conn.config {
                    if z.s3_endpoint.is_none() {
                        // What an unset endpoint means (RestCatalog::data_config).
                        println!("s3_endpoint: not set: data files are read from the S3 endpoint the catalog announces in /v1/config (`connection test` names it), else AWS");
                    }
                }
                if matches!(conn.config, ConnectionConfig::ZeroCopy(_)) {
                    let catalog = lakeport_core::table_name_from(&name)?;
                    if shares.is_empty() {
                        println!("shares: none");
                    }
                    for s in &shares {
                        println!("share {}: {}", s.share, s.tables.iter().map(|t| sql_name(&[&catalog, &s.share.namespace, t])).collect::<Vec<_>>().join(", "));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionCommand::Remove { name } => {
            pool.remove_connection(&name).await?;
            if !json {
                println!("Removed connection '{name}'");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints Test Connection's verdicts and whether the connection was saved.
async fn report_added(pool: &Pool, name: &str, outcome: AddOutcome, json: bool) -> Result<ExitCode> {
    if json {
        output::print_json(&outcome);
    } else if let Some(test) = &outcome.test {
        output::print_test_report(name, test);
    }
    if outcome.saved {
        if !json {
            println!("Saved connection '{name}' in pool '{}'", pool.name());
        }
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("Not saved: Test Connection failed. Fix the settings or permissions and try again.");
        Ok(ExitCode::from(2))
    }
}

/// `connection update`: the options given, as a merge patch of the stored settings, for
/// `lakeport_core::update_connection` (which tests, then saves, or changes nothing).
async fn update_connection(pool: &Pool, args: ConnectionUpdateArgs, json: bool) -> Result<ExitCode> {
    use serde_json::{json, Value};
    let conn = core::connection(pool, &args.name).await?;
    let zero_copy = matches!(conn.config, ConnectionConfig::ZeroCopy(_));
    let mut patch = serde_json::Map::new();
    // An empty URL goes back to the default (null in a merge patch).
    let url = |v: &Option<String>| v.as_ref().map(|u| if u.trim().is_empty() { Value::Null } else { json!(u.trim()) });
    let mut set = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            patch.insert(key.to_string(), v);
        }
    };
    set("region", args.region.as_ref().map(|v| json!(v)));
    set("bucket", args.bucket.as_ref().map(|v| json!(v)));
    set("warehouse", args.warehouse.as_ref().map(|v| json!(v)));
    set("catalog_url", url(&args.catalog_url));
    set("sts_endpoint", url(&args.sts_endpoint));
    set("signing_name", args.signing_name.as_ref().map(|v| json!(v)));
    set("vended_credentials", args.vended_credentials.map(|v| json!(v)));
    set(if zero_copy { "s3_endpoint" } else { "endpoint" }, url(&args.endpoint));
    set(if zero_copy { "s3_path_style" } else { "path_style" }, args.path_style.map(|v| json!(v)));
    set("allow_http", args.allow_http.map(|v| json!(v)));
    set("allow_http_anywhere", args.allow_http_anywhere.map(|v| json!(v)));
    set("concurrency", args.concurrency.map(|v| json!(v)));
    set("max_retries", args.max_retries.map(|v| json!(v)));
    if zero_copy {
        let mut auth = serde_json::Map::new();
        if let Some(r) = &args.role_arn {
            auth.insert("method".into(), json!("assume-role"));
            auth.insert("role_arn".into(), json!(r));
        }
        if let Some(e) = &args.external_id {
            auth.insert("external_id".into(), json!(e));
        }
        if let Some(k) = &args.access_key_id {
            auth.insert("method".into(), json!("access-key"));
            auth.insert("access_key_id".into(), json!(k));
        }
        if args.bearer_token {
            auth.insert("method".into(), json!("bearer"));
        }
        if let Some(id) = &args.oauth2_client_id {
            auth.insert("method".into(), json!("oauth2"));
            auth.insert("client_id".into(), json!(id));
        }
        if let Some(scope) = &args.oauth2_scope {
            auth.insert("scope".into(), json!(scope));
        }
        if let Some(uri) = &args.oauth2_server_uri {
            auth.insert("server_uri".into(), json!(uri));
        }
        set("auth", (!auth.is_empty()).then_some(Value::Object(auth)));
    } else {
        // The method's members; a switch clears the other methods' members (null in a merge patch).
        let method = |name: &str, members: &[(&str, Option<Value>)]| {
            let mut auth = serde_json::Map::new();
            auth.insert("method".into(), json!(name));
            for k in ["role_arn", "external_id", "session_seconds", "profile"] {
                auth.insert(k.into(), Value::Null);
            }
            for (k, v) in members {
                auth.insert(k.to_string(), v.clone().unwrap_or(Value::Null));
            }
            Value::Object(auth)
        };
        let auth = if let Some(r) = &args.role_arn {
            Some(method("assume-role", &[("role_arn", Some(json!(r))), ("external_id", args.external_id.as_ref().map(|e| json!(e)))]))
        } else if let Some(p) = &args.profile {
            Some(method("profile", &[("profile", Some(json!(p)))]))
        } else if args.default_chain {
            Some(method("default-chain", &[]))
        } else {
            args.external_id.as_ref().map(|e| json!({ "external_id": e }))
        };
        if auth.is_some() {
            set("access_key_id", Some(json!("")));
        }
        set("auth", auth);
        if let Some(k) = &args.access_key_id {
            set("access_key_id", Some(json!(k)));
            set("auth", Some(Value::Null));
        }
    }
    let secret = if let Some(path) = &args.secret_file {
        let mut s = String::new();
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut s)).with_context(|| format!("cannot read the secret file {}", path.display()))?;
        Some(Secret::new(s.lines().next().unwrap_or_default()))
    } else if let Some(var) = &args.secret_env {
        Some(Secret::new(std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?))
    } else if args.prompt_secret {
        Some(Secret::new(rpassword::prompt_password("New secret: ")?))
    } else {
        None
    };
    if secret.as_ref().is_some_and(|s| s.expose().trim().is_empty()) {
        bail!("the new secret is empty");
    }
    let update = core::ConnectionUpdate { config: Value::Object(patch), secret };
    let outcome = core::update_connection(pool, &args.name, update).await?;
    if json {
        output::print_json(&outcome);
    } else {
        output::print_test_report(&args.name, &outcome.test);
    }
    let changed = if outcome.changed.is_empty() { "nothing".to_string() } else { outcome.changed.join(", ") };
    if outcome.saved {
        if !json {
            let shares = if zero_copy { format!("; its {} share(s) are kept", pool.shares(&args.name).await?.len()) } else { String::new() };
            println!("Updated connection '{}' (changed: {changed}){shares}", args.name);
        }
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("Not updated: Test Connection failed with the new settings ({changed}); the connection, its secret and its shares are unchanged.");
        Ok(ExitCode::from(2))
    }
}

fn new_external_id() -> String {
    format!("lakeport-{}", uuid::Uuid::new_v4().simple())
}

/// Zero-copy: Name → fields → Test Connection → Save (only when the test passed).
async fn add_zero_copy(pool: &Pool, args: ConnectionAddArgs, json: bool) -> Result<ExitCode> {
    if args.profile.is_some() || args.default_chain {
        bail!("--profile and --default-chain are for extraction connections; zero-copy authenticates with --role-arn, --access-key-id or --bearer-token");
    }
    let mut generated = false;
    let (auth, secret) = if let Some(role_arn) = &args.role_arn {
        let external_id = args.external_id.clone().unwrap_or_else(|| {
            generated = true;
            new_external_id()
        });
        (ZeroCopyAuth::AssumeRole { role_arn: role_arn.clone(), external_id }, None)
    } else if args.bearer_token {
        (ZeroCopyAuth::Bearer, Some(read_secret(&args)?))
    } else if let Some(client_id) = &args.oauth2_client_id {
        let auth = ZeroCopyAuth::OAuth2 { client_id: client_id.clone(), scope: args.oauth2_scope.clone(), server_uri: args.oauth2_server_uri.clone() };
        (auth, Some(read_secret(&args)?))
    } else if let Some(key) = &args.access_key_id {
        (ZeroCopyAuth::AccessKey { access_key_id: key.clone() }, Some(read_secret(&args)?))
    } else {
        bail!("zero-copy needs one way to authenticate: --role-arn (recommended), --access-key-id, --bearer-token, or --oauth2-client-id");
    };
    let config = ZeroCopyConfig {
        catalog_url: args.catalog_url.clone(),
        catalog: core::CatalogSettings {
            region: args.region.clone(),
            warehouse: args.warehouse.clone().unwrap_or_default(),
            auth,
            signing_name: args.signing_name.clone(),
            s3_endpoint: args.endpoint.clone(),
            s3_path_style: args.path_style,
            sts_endpoint: args.sts_endpoint.clone(),
            allow_http: args.allow_http || args.allow_http_anywhere,
            allow_http_anywhere: args.allow_http_anywhere,
        },
        vended_credentials: args.vended_credentials,
    };
    config.validate()?;
    if let (true, ZeroCopyAuth::AssumeRole { external_id, .. }) = (generated, &config.auth) {
        match caller_identity(&config.region, config.sts_endpoint.as_deref(), config.allow_http).await {
            Ok(principal) => eprintln!(
                "Generated External ID {external_id}. Your role must trust lakeport's principal with it:\n{}\n",
                trust_policy(&principal, external_id)
            ),
            Err(e) => eprintln!("Generated External ID {external_id} (lakeport's principal is unknown: {e})"),
        }
    }
    let new = NewConnection { name: args.name.clone(), config: ConnectionConfig::ZeroCopy(config), secret };
    let outcome = core::add_connection(pool, new, args.skip_test).await?;
    // Only when STS refused the role: an STS that could not be reached is not a trust problem.
    let refused = outcome.test.as_ref().is_some_and(|t| t.checks.iter().any(|c| c.permission == "sts:AssumeRole" && c.reason.contains("trust policy")));
    if !outcome.saved && generated && refused {
        eprintln!("Once the role trusts it, add the connection again with --external-id of the one above.");
    }
    report_added(pool, &args.name, outcome, json).await
}

fn ascii_byte(what: &str, c: char) -> Result<u8> {
    if c.is_ascii() {
        Ok(c as u8)
    } else {
        Err(anyhow!("the CSV {what} must be a single ASCII character, not '{c}'"))
    }
}

/// The one [`ExtractRequest`] the extract options describe (for `lakeport extract` and saved
/// extractions alike).
fn build_request(args: ExtractOptions) -> Result<ExtractRequest> {
    let mut items: Vec<Item> = args.files.iter().map(Item::file).chain(args.folders.iter().map(Item::folder)).collect();
    if let Some(name) = &args.table {
        if items.len() != 1 {
            bail!("--table names one table: use it with exactly one --file or --folder");
        }
        match &mut items[0] {
            Item::File { table, .. } | Item::Folder { table, .. } => *table = Some(name.clone()),
        }
    }
    // Folder patterns: `PREFIX=GLOB`, or a bare GLOB with a single folder.
    for (flag, list, include) in [("--pattern", &args.patterns, true), ("--exclude", &args.excludes, false)] {
        for spec in list {
            let folders: Vec<&mut Item> = items.iter_mut().filter(|i| matches!(i, Item::Folder { .. })).collect();
            let (prefix, glob) = match spec.split_once('=') {
                Some((p, g)) => (Some(p.trim_matches('/').to_string()), g.to_string()),
                None => (None, spec.clone()),
            };
            let mut matched = false;
            let count = folders.len();
            for item in folders {
                if let Item::Folder { prefix: p, include: inc, exclude: exc, .. } = item {
                    if prefix.as_ref().is_some_and(|want| p.trim_matches('/') != want) || (prefix.is_none() && count != 1) {
                        continue;
                    }
                    if include { inc.push(glob.clone()) } else { exc.push(glob.clone()) }
                    matched = true;
                }
            }
            if !matched {
                match prefix {
                    Some(p) => bail!("{flag} {spec}: no --folder {p}"),
                    None if count == 0 => bail!("{flag} selects files of a folder: give a --folder"),
                    None => bail!("{flag} {spec}: there are {count} folders; name one as PREFIX=GLOB"),
                }
            }
        }
    }
    let tables: Vec<String> = items.iter().map(|i| i.table_name()).collect::<Result<_, _>>()?;
    let mut settings: Vec<TableSettings> = Vec::new();
    for (flag, list) in [("--columns", &args.columns), ("--exclude-columns", &args.exclude_columns), ("--pseudonymise", &args.pseudonymise)] {
        for spec in list {
            let (table, cols) = match spec.split_once('=') {
                Some((t, c)) => (t.to_string(), c),
                None if tables.len() == 1 => (tables[0].clone(), spec.as_str()),
                None => bail!("{flag} {spec}: there are {} tables; name one as TABLE=COLS", tables.len()),
            };
            let cols: Vec<String> = cols.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
            if cols.is_empty() {
                bail!("{flag} {spec}: no columns given");
            }
            let entry = match settings.iter_mut().position(|s| s.table == table) {
                Some(i) => &mut settings[i],
                None => {
                    settings.push(TableSettings { table: table.clone(), ..Default::default() });
                    settings.last_mut().expect("just pushed")
                }
            };
            match flag {
                "--columns" => entry.columns.extend(cols),
                "--exclude-columns" => entry.exclude_columns.extend(cols),
                _ => entry.pseudonymise.extend(cols),
            }
        }
    }
    let mode = if args.delta { LoadMode::Delta } else { LoadMode::Full };
    let read = ReadOptions {
        csv: CsvOptions {
            has_header: if args.no_header { Some(false) } else if args.header { Some(true) } else { None },
            delimiter: args.delimiter.map(|c| ascii_byte("delimiter", c)).transpose()?,
            quote: args.quote.map(|c| ascii_byte("quote", c)).transpose()?,
            no_quoting: args.no_quoting,
            escape: args.escape.map(|c| ascii_byte("escape", c)).transpose()?,
            encoding: args.encoding,
            null_values: args.null_values,
        },
        infer_rows: args.infer_rows.max(1),
        text_columns: args.text_columns,
        ..ReadOptions::default()
    };
    let deleted = match args.deleted {
        DeletedArg::Keep => DeletedObjects::Keep,
        DeletedArg::Remove => DeletedObjects::Remove,
    };
    let on_schema_change = match args.on_schema_change {
        SchemaChangeArg::Evolve => OnSchemaChange::Evolve,
        SchemaChangeArg::Text => OnSchemaChange::Text,
        SchemaChangeArg::Fail => OnSchemaChange::Fail,
    };
    let request = ExtractRequest {
        items,
        mode,
        read,
        type_fallback: args.type_fallback,
        source_columns: args.source_columns,
        concurrency: args.concurrency,
        deleted,
        on_schema_change,
        tables: settings,
        shard: args.shard.as_deref().map(core::Shard::parse).transpose()?,
    };
    request.validate()?;
    Ok(request)
}

async fn extract_command(pool: &Pool, args: ExtractArgs, json: bool) -> Result<ExitCode> {
    let request = build_request(args.options)?;
    let progress = Arc::new(BarProgress::new(!json));
    stop_runs_on_signal();
    let report = core::runs::run(pool, &args.connection, request, None, progress.clone()).await;
    progress.finish();
    let report = report?;
    if json {
        output::print_json(&report);
    } else {
        output::print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

async fn extraction_command(pool: &Pool, cmd: ExtractionCommand, json: bool) -> Result<ExitCode> {
    match cmd {
        ExtractionCommand::Create(args) => {
            let Some(connection) = args.connection.clone() else { bail!("an extraction needs a connection: -c CONNECTION") };
            let name = args.name.clone();
            let definition = definition(connection, args)?;
            let saved = core::create_extraction(pool, &name, definition).await?;
            print_saved(&saved, "Saved", json);
        }
        ExtractionCommand::Edit(args) => {
            let current = core::get_extraction(pool, &args.name).await?;
            let connection = args.connection.clone().unwrap_or_else(|| current.definition.connection.clone());
            let name = args.name.clone();
            let definition = definition(connection, args)?;
            let saved = core::edit_extraction(pool, &name, definition).await?;
            print_saved(&saved, "Updated", json);
            // An edit replaces the whole definition: say what the options left out removed (a
            // pseudonymised column that is no longer pseudonymised would load plain values).
            let removed = removed_settings(&serde_json::to_value(&current.definition)?, &serde_json::to_value(&saved.definition)?);
            if !removed.is_empty() {
                eprintln!(
                    "warning: this edit replaced the whole definition; settings of version {} it no longer has (give them again to keep them):\n  {}",
                    current.version,
                    removed.join("\n  ")
                );
            }
        }
        ExtractionCommand::List => {
            let all = core::list_extractions(pool).await?;
            if json {
                output::print_json(&all);
            } else if all.is_empty() {
                println!("No saved extractions in pool '{}'. Save one with `lakeport extraction create`.", pool.name());
            } else {
                output::print_rows(
                    &["extraction", "connection", "mode", "tables", "schedule", "next run (UTC)", "version", "state"],
                    all.iter().map(|e| {
                        let d = &e.definition;
                        let tables = d.request.items.iter().filter_map(|i| i.table_name().ok()).collect::<Vec<_>>().join(", ");
                        let schedule = d.schedule.as_ref().map(|s| format!("{}{}", s.cron, s.timezone.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())).unwrap_or_else(|| "-".into());
                        let next = match (e.retry_at, e.next_run_at) {
                            (Some(r), Some(n)) if r < n => format!("{} (retry {})", r.format("%Y-%m-%d %H:%M:%S"), e.retry_attempt),
                            (Some(r), None) => format!("{} (retry {})", r.format("%Y-%m-%d %H:%M:%S"), e.retry_attempt),
                            (_, Some(n)) => n.format("%Y-%m-%d %H:%M:%S").to_string(),
                            (None, None) => "-".into(),
                        };
                        let state = if e.running_job.is_some() { "running" } else { "idle" };
                        vec![e.name.clone(), d.connection.clone(), d.request.mode.as_str().into(), tables, schedule, next, e.version.to_string(), state.into()]
                    }),
                );
            }
        }
        ExtractionCommand::Show { name } => {
            let e = core::get_extraction(pool, &name).await?;
            let mut value = serde_json::to_value(&e)?;
            if let Some(s) = &e.definition.schedule {
                value["upcoming_runs"] = serde_json::to_value(s.upcoming(chrono::Utc::now(), 3)?)?;
            }
            output::print_json(&value);
        }
        ExtractionCommand::Remove { name } => {
            core::remove_extraction(pool, &name).await?;
            if !json {
                println!("Removed extraction '{name}' (its tables and run history stay).");
            }
        }
        ExtractionCommand::Run { name, full, delta } => {
            let mode = if full { Some(LoadMode::Full) } else if delta { Some(LoadMode::Delta) } else { None };
            let progress = Arc::new(BarProgress::new(!json));
            stop_runs_on_signal();
            let outcome = core::run_extraction(pool, &name, mode, progress.clone()).await;
            progress.finish();
            let outcome = outcome?;
            if let Some(delivery) = outcome.notification {
                // The run is recorded already; give the notification a bounded time to go out
                // before this process ends.
                if !matches!(tokio::time::timeout(std::time::Duration::from_secs(20), delivery).await, Ok(Ok(true))) {
                    eprintln!("warning: the webhook notification could not be delivered");
                }
            }
            let report = outcome.result?;
            if json {
                output::print_json(&report);
            } else {
                output::print_report(&report);
            }
        }
        ExtractionCommand::History { name, limit } => {
            let history = core::extraction_history(pool, &name, limit).await?;
            if json {
                output::print_json(&history);
            } else if history.is_empty() {
                println!("Extraction '{name}' has not run yet.");
            } else {
                output::print_history(&history);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn definition(connection: String, args: ExtractionArgs) -> Result<ExtractionDefinition> {
    let mut d = ExtractionDefinition::new(connection, build_request(args.options)?);
    d.schedule = args.schedule.map(|cron| Schedule { cron, timezone: args.timezone });
    d.retry = RetryPolicy { max_retries: args.max_retries, backoff_secs: args.retry_backoff_secs };
    d.webhook = args.webhook.map(|url| Webhook { url, on_recovery: args.notify_recovery });
    Ok(d)
}

/// The settings (JSON paths with their values) that `old` has and `new` lacks or holds empty:
/// what an edit dropped. Changed values are not listed, only removed ones.
fn removed_settings(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    fn walk(path: &str, old: &Value, new: Option<&Value>, out: &mut Vec<String>) {
        let empty = |v: Option<&Value>| matches!(v, None | Some(Value::Null)) || v.is_some_and(|v| v.as_array().is_some_and(|a| a.is_empty()) || v.as_object().is_some_and(|o| o.is_empty()));
        match old {
            Value::Object(o) => {
                for (k, v) in o {
                    walk(&if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, v, new.and_then(|n| n.get(k)), out);
                }
            }
            Value::Array(a) if a.iter().all(|v| !v.is_object()) => {
                let kept: Vec<&Value> = new.and_then(|n| n.as_array()).map(|n| n.iter().collect()).unwrap_or_default();
                let gone: Vec<String> = a.iter().filter(|v| !kept.contains(v)).map(|v| v.to_string()).collect();
                if !gone.is_empty() {
                    out.push(format!("{path}: {}", gone.join(", ")));
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), v, new.and_then(|n| n.get(i)), out);
                }
            }
            Value::Null => {}
            v if empty(new) && !empty(Some(v)) => out.push(format!("{path}: {v}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", old, Some(new), &mut out);
    out
}

fn print_saved(e: &core::Extraction, verb: &str, json: bool) {
    if json {
        output::print_json(e);
        return;
    }
    println!("{verb} extraction '{}' (version {}).", e.name, e.version);
    if let Some(s) = &e.definition.schedule {
        let upcoming = s.upcoming(chrono::Utc::now(), 3).unwrap_or_default();
        println!("Schedule {} ({}): next runs {}", s.cron, s.timezone.as_deref().unwrap_or("UTC"), upcoming.iter().map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).collect::<Vec<_>>().join(", "));
        println!("Scheduled runs happen while `lakeport serve` or `lakeport scheduler` is running.");
    }
}

/// The next SIGTERM or SIGINT (Ctrl-C), by name.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

/// While runs go on: the first SIGTERM/SIGINT stops every run of this process at its next
/// checkpoint (each ends `interrupted`, every table old or new, and the command then fails
/// saying so); a second one ends the process at once (the next start marks its runs interrupted).
fn stop_runs_on_signal() {
    tokio::spawn(async {
        let name = wait_for_signal().await;
        eprintln!("{name}: stopping the run at its next checkpoint (again to stop at once)");
        tokio::spawn(async move { core::runs::stop_all(&format!("lakeport received {name}")).await });
        let again = wait_for_signal().await;
        eprintln!("{again} again: stopping at once");
        std::process::exit(130);
    });
}
