//! Command-line interface. Every subcommand takes the same `--data-dir` / `DATABASE_URL`, so
//! operators' commands reach the database the server uses.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand};
use huifang_core::auth::{check_new_password, check_username, hash_password, normalise_username};
use huifang_core::imports::{self, ImportError, ImportKind};
use huifang_protocol::{Labelled, Role};
use huifang_server::registry::{NewStaff, RegistryStore};
use huifang_server::telemetry::{self, LogFormat};
use huifang_server::{Application, Config, Database, app, demo};

#[derive(Parser)]
#[command(
    name = "huifang",
    version,
    about = "Huifang (回访): customer follow-up for property companies"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct GlobalArgs {
    /// Folder of the embedded SQLite database (used when DATABASE_URL is not set).
    #[arg(
        long,
        env = "HUIFANG_DATA_DIR",
        default_value = "huifang-data",
        global = true
    )]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user:password@host/db); when absent, the embedded SQLite file.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// The company's time zone (IANA name).
    #[arg(
        long,
        env = "HUIFANG_TZ",
        default_value = "Asia/Shanghai",
        global = true
    )]
    tz: Tz,
    /// Log format: text for people, json for log collectors.
    #[arg(
        long,
        env = "HUIFANG_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
    /// Start the server's clock at this instant (RFC 3339) instead of the system time, and let it
    /// run on from there: for rehearsing a month's end or a deadline with real data. Never in
    /// production.
    #[arg(long, env = "HUIFANG_CLOCK_START", global = true, value_parser = parse_instant)]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_app_version(text: &str) -> Result<Vec<u32>, String> {
    huifang_protocol::app_version(text)
        .ok_or_else(|| format!("{text:?} is not a version of dotted numbers such as 2.3.0"))
}

fn parse_instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    huifang_protocol::parse_time("--clock-start", text)
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "HUIFANG_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Serve requests only: leave the deadline and monthly planning jobs to another
        /// instance.
        #[arg(long)]
        no_jobs: bool,
        /// Refuse syncs from phone apps older than this version (dotted numbers, e.g. 2.3.0): they
        /// are told to update, and keep their unsynced work until they do.
        #[arg(long, env = "HUIFANG_MIN_APP_VERSION", value_parser = parse_app_version)]
        min_app_version: Option<Vec<u32>>,
        /// Back the embedded database up this often while serving (`6h`, `1d`, `30m`).
        #[arg(long, env = "HUIFANG_BACKUP_EVERY", value_parser = humantime::parse_duration)]
        backup_every: Option<std::time::Duration>,
        /// How many scheduled backups to keep (the oldest are removed).
        #[arg(long, env = "HUIFANG_BACKUP_KEEP", default_value_t = 7)]
        backup_keep: usize,
        /// Where scheduled backups go (default: `backups` in the data directory).
        #[arg(long, env = "HUIFANG_BACKUP_DIR")]
        backup_dir: Option<PathBuf>,
    },
    /// Write a consistent copy of the embedded database (with its blobs and audit chain) to a new
    /// file, while the server goes on serving. PostgreSQL: use pg_dump (README).
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup in place as the database of an empty data directory.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import a CSV file (UTF-8 or GBK) of households, units or staff; all rows or none.
    Import {
        /// households, units or staff
        #[arg(value_parser = import_kind)]
        kind: ImportKind,
        file: PathBuf,
        /// Check and count, but write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit log (D-GOV-1).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Preview or generate a month's routine follow-up plan (R-RTN-1…5): each unit's quota and
    /// the chosen households with their reasons. Generating twice changes nothing.
    Plan {
        /// The month, YYYY-MM (this month or the next).
        #[arg(long)]
        month: String,
        /// Show the plan without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Households listed per plan (0: only the quotas).
        #[arg(long, default_value_t = 5)]
        show: usize,
    },
    /// Seed a demo company (once per database) and serve it.
    Demo {
        #[arg(long, env = "HUIFANG_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Seed and exit without serving.
        #[arg(long)]
        seed_only: bool,
        /// Seed the company alone, without its six months of work (to try the first steps
        /// from scratch).
        #[arg(long)]
        no_history: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exits 1 and names each altered or missing entry.
    Verify,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account (the first administrator, typically). The password is read from
    /// standard input when --password is absent.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Display name (defaults to the username).
        #[arg(long)]
        name: Option<String>,
        /// Code of the staff member's unit (needed for unit heads, staff and consultants).
        #[arg(long)]
        unit: Option<String>,
        #[arg(long)]
        password: Option<String>,
    },
    /// Set an account's password (read from standard input when --password is absent).
    SetPassword {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Sign out every device of an account (lost phone, staff leaving).
    Revoke {
        #[arg(long)]
        username: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
        .map_err(|e: huifang_protocol::UnknownValue| e.to_string())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.global.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open(global: &GlobalArgs) -> anyhow::Result<(Config, Database)> {
    let config = Config::new(
        global.data_dir.clone(),
        global.database_url.clone(),
        global.tz,
    );
    let mut db = Database::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .with_context(|| format!("opening {}", config.database_description()))?;
    if let Some(start) = global.clock_start {
        tracing::warn!(%start, "the clock starts at a chosen instant (a rehearsal, not production)");
        db = db.with_clock(huifang_protocol::Clock::starting_at(start));
    }
    db.migrate().await?;
    tracing::info!(database = %config.database_description(), "database ready");
    Ok((config, db))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // A restore writes the database a data directory does not have yet: before anything opens
    // (and so creates) one.
    if let Command::Restore { from } = &cli.command {
        if cli.global.database_url.is_some() {
            bail!("restore is for the embedded database; on PostgreSQL use pg_restore (README)");
        }
        huifang_store::backups::restore(from, &cli.global.data_dir).await?;
        println!(
            "restored {} into {}",
            from.display(),
            cli.global.data_dir.display()
        );
        return Ok(());
    }
    let (config, db) = open(&cli.global).await?;
    let result = match cli.command {
        Command::Serve {
            addr,
            no_jobs,
            min_app_version,
            backup_every,
            backup_keep,
            backup_dir,
        } => {
            if let Some(every) = backup_every {
                if config.database_url.is_some() {
                    bail!(
                        "--backup-every backs up the embedded database; on PostgreSQL use pg_dump (README)"
                    );
                }
                let dir = backup_dir.unwrap_or_else(|| config.data_dir.join("backups"));
                println!(
                    "backing up every {} into {}, keeping {backup_keep}",
                    humantime::format_duration(every),
                    dir.display()
                );
                huifang_store::backups::spawn_scheduled(
                    db.clone(),
                    huifang_store::backups::Schedule {
                        dir,
                        every,
                        keep: backup_keep,
                    },
                );
            }
            let config = Config {
                scheduled_jobs: !no_jobs,
                min_app_version,
                ..config
            };
            serve(config, db.clone(), addr, None).await
        }
        Command::Backup { to } => {
            let size = huifang_store::backups::back_up(&db, &to).await?;
            println!(
                "backed up {} to {} ({size} bytes)",
                config.database_description(),
                to.display()
            );
            Ok(())
        }
        // Handled above, before a database is opened.
        Command::Restore { .. } => Ok(()),
        Command::Migrate => {
            println!("migrations applied to {}", config.database_description());
            Ok(())
        }
        Command::Import {
            kind,
            file,
            dry_run,
        } => import_file(&db, kind, &file, dry_run).await,
        Command::Admin(command) => admin(&db, command).await,
        Command::Audit(AuditCommand::Verify) => {
            let verification = huifang_store::audit::verify(&db).await?;
            if verification.problems.is_empty() {
                println!("audit log intact: {} entries", verification.entries);
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "audit log broken ({} entries read):\n{}",
                    verification.entries,
                    verification.problems.join("\n")
                ))
            }
        }
        Command::Plan {
            month,
            dry_run,
            show,
        } => plan(&config, &db, &month, dry_run, show).await,
        Command::Demo {
            addr,
            seed_only,
            no_history,
        } => {
            let past = if no_history {
                demo::Past::None
            } else {
                demo::Past::SixMonths
            };
            let seeded =
                demo::seed(&db, config.time_zone, past)
                    .await
                    .map_err(|error| match error {
                        demo::DemoError::Import(error) => import_failure(error),
                        other => other.into(),
                    })?;
            if seeded {
                println!(
                    "seeded the demo company into {}",
                    config.database_description()
                );
            } else {
                println!(
                    "reusing the demo company already in {}",
                    config.database_description()
                );
            }
            if seed_only {
                Ok(())
            } else {
                serve(config, db.clone(), addr, Some(demo::logins())).await
            }
        }
    };
    db.close().await;
    result
}

async fn serve(
    config: Config,
    db: Database,
    addr: SocketAddr,
    demo_logins: Option<Vec<demo::DemoLogin>>,
) -> anyhow::Result<()> {
    let application = Application::build(config, db, addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = application.local_addr()?;
    tracing::info!(%local, "listening");
    println!(
        "Huifang is serving at http://{local}/  (dashboard: /app, health: /healthz, API: /api/v1/…)"
    );
    if let Some(logins) = demo_logins {
        println!("Demo logins (password for all: {}):", demo::DEMO_PASSWORD);
        for login in logins {
            println!(
                "  {:<16} {:<16} {}",
                login.username,
                login.role.code(),
                login.what
            );
        }
        println!(
            "Try: curl -s http://{local}/api/v1/auth/login -H 'content-type: application/json' \
             -d '{{\"username\":\"admin\",\"password\":\"{}\"}}'",
            demo::DEMO_PASSWORD
        );
    }
    let _ = std::io::stdout().flush();
    application
        .run_until_stopped(app::shutdown_signal())
        .await?;
    Ok(())
}

/// Turns an import refusal into an error whose text lists every bad row.
fn import_failure(error: ImportError) -> anyhow::Error {
    match error {
        ImportError::Rows(lines) => {
            anyhow::anyhow!(
                "{} problem(s); nothing was imported:\n{}",
                lines.len(),
                lines.join("\n")
            )
        }
        other => other.into(),
    }
}

async fn import_file(
    db: &Database,
    kind: ImportKind,
    file: &PathBuf,
    dry_run: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let report = imports::import(db, kind, &bytes, dry_run)
        .await
        .map_err(import_failure)?;
    println!(
        "{}{}: {} rows — {} created, {} updated, {} unchanged",
        report.kind,
        if report.dry_run {
            " (dry run, nothing written)"
        } else {
            ""
        },
        report.rows,
        report.created,
        report.updated,
        report.unchanged
    );
    Ok(())
}

/// A password from the flag, or one line of standard input (prompted when it is a terminal).
fn password_from(flag: Option<String>) -> anyhow::Result<String> {
    let password = match flag {
        Some(p) => p,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("password: ");
                let _ = std::io::stderr().flush();
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    check_new_password(&password).map_err(anyhow::Error::msg)?;
    Ok(password)
}

async fn admin(db: &Database, command: AdminCommand) -> anyhow::Result<()> {
    let registry = RegistryStore::new(db.clone());
    match command {
        AdminCommand::Create {
            username,
            role,
            name,
            unit,
            password,
        } => {
            let username = normalise_username(&username);
            check_username(&username).map_err(anyhow::Error::msg)?;
            let unit_id = match unit {
                Some(code) => Some(
                    huifang_store::registry::unit_by_code(db.pool(), &code)
                        .await?
                        .map(|(id, _)| id)
                        .with_context(|| format!("unit {code:?} does not exist"))?,
                ),
                None => None,
            };
            let password = password_from(password)?;
            let staff = registry
                .create_staff(NewStaff {
                    name: name.unwrap_or_else(|| username.clone()),
                    username,
                    phone: None,
                    role,
                    unit_id,
                    password_hash: Some(hash_password(password).await?),
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} ({}) with id {}",
                staff.username, staff.role, staff.id
            );
        }
        AdminCommand::SetPassword { username, password } => {
            let username = normalise_username(&username);
            let Some(id) = registry
                .staff_id_by_username(&username)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            else {
                bail!("no account {username:?}");
            };
            let password = password_from(password)?;
            registry
                .set_password_hash(id, &hash_password(password).await?)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("password of {username} set");
        }
        AdminCommand::Revoke { username } => {
            let username = normalise_username(&username);
            let Some(id) = registry
                .staff_id_by_username(&username)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            else {
                bail!("no account {username:?}");
            };
            let sessions =
                huifang_core::auth::SessionStore::new(db.clone(), chrono::Duration::zero());
            let revoked = sessions
                .revoke_all_of(id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("revoked {revoked} session(s) of {username}");
        }
    }
    Ok(())
}

/// Names to print a plan with.
struct PlanNames {
    units: std::collections::BTreeMap<i64, String>,
    staff: std::collections::BTreeMap<i64, String>,
    communities: std::collections::BTreeMap<i64, String>,
    addresses: std::collections::BTreeMap<i64, String>,
}

impl PlanNames {
    async fn load(db: &Database) -> anyhow::Result<Self> {
        use huifang_store::registry::{Named, names};
        Ok(PlanNames {
            units: names(db, Named::Units).await?.into_iter().collect(),
            staff: names(db, Named::Staff).await?.into_iter().collect(),
            communities: names(db, Named::Communities).await?.into_iter().collect(),
            addresses: std::collections::BTreeMap::new(),
        })
    }

    async fn load_addresses(&mut self, db: &Database, households: &[i64]) -> anyhow::Result<()> {
        self.addresses
            .extend(huifang_store::registry::addresses(db, households).await?);
        Ok(())
    }

    fn address(&self, household: i64) -> String {
        self.addresses
            .get(&household)
            .cloned()
            .unwrap_or_else(|| format!("household #{household}"))
    }

    fn of(map: &std::collections::BTreeMap<i64, String>, id: i64) -> String {
        map.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
    }

    fn holder(&self, unit_id: i64, staff_id: i64, community_id: Option<i64>) -> String {
        let unit = Self::of(&self.units, unit_id);
        match (staff_id, community_id) {
            (0, Some(community)) => format!("{} · {unit}", Self::of(&self.communities, community)),
            (0, None) => unit,
            (staff, _) => format!("{unit} · {}", Self::of(&self.staff, staff)),
        }
    }

    fn assignee(&self, staff_id: Option<i64>) -> String {
        staff_id.map_or_else(|| "the unit".to_owned(), |id| Self::of(&self.staff, id))
    }
}

async fn plan(
    config: &Config,
    db: &Database,
    month: &str,
    dry_run: bool,
    show: usize,
) -> anyhow::Result<()> {
    use huifang_core::plans::{self, Month, store};
    use huifang_store::scope::WorkScope;

    let month: Month = month.parse().map_err(anyhow::Error::msg)?;
    plans::check_plannable(month, db.now(), config.time_zone)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut names = PlanNames::load(db).await?;
    if dry_run {
        let plan = plans::preview(db, config.time_zone, month)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let shown: Vec<i64> = plan
            .plans
            .iter()
            .flat_map(|unit| unit.items.iter().take(show).map(|item| item.household_id))
            .collect();
        names.load_addresses(db, &shown).await?;
        println!(
            "Routine plan for {month} (dry run: nothing written): {} plans, {} households",
            plan.plans.len(),
            plan.household_count()
        );
        for unit in &plan.plans {
            println!(
                "{} [{}]: quota {} — {}{}",
                names.holder(unit.unit_id, unit.staff_id, unit.community_id),
                unit.quota.rule_id,
                unit.quota.quota,
                unit.quota.explanation,
                if unit.new_cycle {
                    "; a new cycle begins"
                } else {
                    ""
                }
            );
            for item in unit.items.iter().take(show) {
                println!(
                    "    {} → {}: {}",
                    names.address(item.household_id),
                    names.assignee(item.assignee_staff_id),
                    item.why
                );
            }
            if unit.items.len() > show && show > 0 {
                println!("    … and {} more", unit.items.len() - show);
            }
        }
        return Ok(());
    }
    let generated = plans::generate(
        db,
        config.time_zone,
        huifang_store::audit::AuditActor::SERVER,
        month,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if generated.stored.created {
        println!(
            "Generated the routine plan for {month}: {} plans, {} households, {} follow-ups written",
            generated.stored.plans, generated.stored.households, generated.documents_written
        );
    } else {
        println!(
            "The routine plan for {month} already exists ({} plans, {} households): nothing \
             changed{}",
            generated.stored.plans,
            generated.stored.households,
            if generated.documents_written > 0 {
                format!(
                    "; wrote the {} follow-ups still missing",
                    generated.documents_written
                )
            } else {
                String::new()
            }
        );
    }
    let Some(progress) = store::progress(db, &WorkScope::All, month)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        bail!("the plan for {month} was not found after generating it");
    };
    for unit in &progress.plans {
        println!(
            "{} [{}]: quota {} — {}; planned {}, done {}, unreachable {}, overdue {}",
            names.holder(unit.unit_id, unit.staff_id, unit.community_id),
            unit.rule,
            unit.quota,
            unit.explanation,
            unit.planned,
            unit.done,
            unit.unreachable,
            unit.overdue
        );
        if show == 0 {
            continue;
        }
        let filter = store::PlannedFilter {
            unit_id: Some(unit.unit_id),
            staff_id: Some(unit.staff_id),
            household_id: None,
        };
        let page = huifang_server::registry::PageRequest {
            limit: u32::try_from(show).unwrap_or(u32::MAX),
            offset: 0,
        };
        let households = store::planned_households(db, &WorkScope::All, month, &filter, page)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for item in &households.items {
            println!(
                "    {} → {}: {}",
                item.address,
                names.assignee(item.assignee_staff_id),
                item.why
            );
        }
        if households.total > i64::try_from(show).unwrap_or(i64::MAX) {
            println!(
                "    … and {} more",
                households.total - households.items.len() as i64
            );
        }
    }
    Ok(())
}

/// The kind of an import file as the command line names it.
fn import_kind(text: &str) -> Result<ImportKind, String> {
    ImportKind::parse(text).ok_or_else(|| format!("{text:?} is not households, units or staff"))
}
