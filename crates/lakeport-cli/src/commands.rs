use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use lakeport_extract::{extract, ExtractRequest, Item};
use lakeport_formats::{CsvOptions, Encoding, ReadOptions};
use lakeport_pool::{ConnectionConfig, LoadMode, Pool, PoolDir};
use lakeport_source::probe::test_connection;
use lakeport_source::{S3Config, Secret};

use crate::args::{Cli, Command, ConnectionAddArgs, ConnectionCommand, EncodingArg, ExtractArgs, PoolCommand, QueryFormat};
use crate::output;
use crate::progress::BarProgress;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let dir = PoolDir::open(&cli.pool_dir).await?;
    let json = cli.json;
    match cli.command {
        Command::Pool(cmd) => pool_command(&dir, cmd, json).await,
        Command::Connection(cmd) => {
            let pool = dir.pool(&cli.pool).await?;
            connection_command(&pool, cmd, json).await
        }
        Command::Extract(args) => {
            let pool = dir.pool(&cli.pool).await?;
            extract_command(&pool, args, json).await
        }
        Command::Query(args) => {
            let pool = dir.pool(&cli.pool).await?;
            let result = pool.query(&args.sql).await?;
            let format = if json { QueryFormat::Json } else { args.format };
            output::print_batches(&result.schema, &result.batches, format)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tables => {
            let pool = dir.pool(&cli.pool).await?;
            let tables = pool.tables().await?;
            if json {
                output::print_json(&tables);
            } else {
                output::print_tables(&tables);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs { limit } => {
            let pool = dir.pool(&cli.pool).await?;
            let jobs = pool.jobs(limit).await?;
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
        PoolCommand::Create { name } => {
            dir.create_pool(&name).await?;
            if json {
                output::print_json(&serde_json::json!({ "created": name }));
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
                output::print_rows(
                    &["pool", "tables", "connections", "created"],
                    pools.iter().map(|p| vec![p.name.clone(), p.tables.to_string(), p.connections.to_string(), p.created_at.format("%Y-%m-%d %H:%M").to_string()]),
                );
            }
        }
        PoolCommand::Drop { name, yes } => {
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!("dropping pool '{name}' deletes all its tables; pass --yes to confirm");
                }
                eprint!("Drop pool '{name}' with all its tables, connections and history? Type the pool name to confirm: ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if answer.trim() != name {
                    bail!("not confirmed; nothing was dropped");
                }
            }
            dir.drop_pool(&name).await?;
            if !json {
                println!("Dropped pool '{name}'");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The secret access key: from a file, a named variable, LAKEPORT_SECRET_ACCESS_KEY, or a prompt
/// without echo. It is never taken from the command line, where it would end up in shell history.
fn read_secret(args: &ConnectionAddArgs) -> Result<Secret> {
    let value = if let Some(path) = &args.secret_file {
        let mut s = String::new();
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut s)).with_context(|| format!("cannot read the secret file {}", path.display()))?;
        s.lines().next().unwrap_or_default().to_string()
    } else if let Some(var) = &args.secret_env {
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
            let secret = read_secret(&args)?;
            let config = S3Config {
                region: args.region.clone(),
                bucket: args.bucket.clone(),
                access_key_id: args.access_key_id.clone(),
                endpoint: args.endpoint.clone(),
                path_style: args.path_style,
                allow_http: args.allow_http || args.allow_http_anywhere,
                allow_http_anywhere: args.allow_http_anywhere,
                concurrency: args.concurrency,
                max_retries: args.max_retries,
            };
            config.validate()?;
            if pool.connections().await?.iter().any(|c| c.name.eq_ignore_ascii_case(&args.name)) {
                bail!("a connection named '{}' already exists in pool '{}'", args.name, pool.name());
            }
            if !args.skip_test {
                let report = test_connection(&config, &secret).await?;
                if !json {
                    output::print_probe(&args.name, &config, &report);
                }
                if !report.passed() {
                    if json {
                        output::print_json(&serde_json::json!({ "saved": false, "test": report }));
                    }
                    eprintln!("Not saved: Test Connection failed. Fix the settings or permissions and try again.");
                    return Ok(ExitCode::from(2));
                }
            }
            pool.add_connection(&args.name, ConnectionConfig::S3Extraction(config), &secret).await?;
            if json {
                output::print_json(&serde_json::json!({ "saved": true, "connection": pool.connection(&args.name).await? }));
            } else {
                println!("Saved connection '{}' in pool '{}'", args.name, pool.name());
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionCommand::Test { name } => {
            let conn = pool.connection(&name).await?;
            let ConnectionConfig::S3Extraction(config) = &conn.config;
            let report = test_connection(config, &pool.connection_secret(&name)?).await?;
            if json {
                output::print_json(&report);
            } else {
                output::print_probe(&name, config, &report);
            }
            Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        ConnectionCommand::List => {
            let conns = pool.connections().await?;
            if json {
                output::print_json(&conns);
            } else if conns.is_empty() {
                println!("No connections in pool '{}'. Add one with `lakeport connection add`.", pool.name());
            } else {
                output::print_rows(
                    &["connection", "type", "bucket", "region", "endpoint"],
                    conns.iter().map(|c| {
                        let ConnectionConfig::S3Extraction(s) = &c.config;
                        vec![c.name.clone(), c.config.type_name().into(), s.bucket.clone(), s.region.clone(), s.endpoint.clone().unwrap_or_else(|| "AWS".into())]
                    }),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionCommand::Show { name } => {
            let conn = pool.connection(&name).await?;
            let mut value = serde_json::to_value(&conn)?;
            value["secret_access_key"] = serde_json::Value::String("********".into());
            output::print_json(&value);
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

fn ascii_byte(what: &str, c: char) -> Result<u8> {
    if c.is_ascii() {
        Ok(c as u8)
    } else {
        Err(anyhow!("the CSV {what} must be a single ASCII character, not '{c}'"))
    }
}

async fn extract_command(pool: &Pool, args: ExtractArgs, json: bool) -> Result<ExitCode> {
    let mut items: Vec<Item> = args.files.iter().map(Item::file).chain(args.folders.iter().map(Item::folder)).collect();
    if let Some(name) = &args.table {
        if items.len() != 1 {
            bail!("--table names one table: use it with exactly one --file or --folder");
        }
        match &mut items[0] {
            Item::File { table, .. } | Item::Folder { table, .. } => *table = Some(name.clone()),
        }
    }
    let mode = if args.delta { LoadMode::Delta } else { LoadMode::Full };
    let read = ReadOptions {
        csv: CsvOptions {
            has_header: !args.no_header,
            delimiter: args.delimiter.map(|c| ascii_byte("delimiter", c)).transpose()?,
            quote: ascii_byte("quote", args.quote)?,
            escape: args.escape.map(|c| ascii_byte("escape", c)).transpose()?,
            encoding: match args.encoding {
                EncodingArg::Utf8 => Encoding::Utf8,
                EncodingArg::Latin1 => Encoding::Latin1,
            },
            null_values: args.null_values,
        },
        infer_rows: args.infer_rows.max(1),
        text_columns: args.text_columns,
        ..ReadOptions::default()
    };
    let request = ExtractRequest { items, mode, read, type_fallback: args.type_fallback, source_columns: args.source_columns, concurrency: args.concurrency };
    let progress = Arc::new(BarProgress::new(!json));
    let report = extract(pool, &args.connection, &request, progress.clone()).await;
    progress.finish();
    let report = report?;
    if json {
        output::print_json(&report);
    } else {
        output::print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}
