//! `huifang-field`: the phone's client core on a desktop. It keeps its own local store (offline
//! like a phone) and calls the same `ClientStore` API the apps call through the bindings, so a
//! demo, a support session or a scripted load test behaves exactly as a phone would.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use huifang_client::{
    ClientError, ClientStore, HttpTransport, NewSheet, OutcomeInput, PhotoInput, SignatureInput,
    Stroke, Task,
};
use huifang_protocol::{
    ComplaintLevel, FollowUpMethod, InformationSource, Labelled, PhotoPurpose, QuestionKind,
    Ratings, SheetCategory, SurveyAnswer, SurveyContent, SurveyFormRow,
};

mod key_file;

#[derive(Parser)]
#[command(
    name = "huifang-field",
    version,
    about = "Huifang field client: a phone's work from a terminal"
)]
struct Cli {
    /// The local store (created when missing).
    #[arg(
        long,
        env = "HUIFANG_FIELD_STORE",
        default_value = "huifang-field.db",
        global = true
    )]
    store: PathBuf,
    /// The store's encryption key, readable by its user only; made on first use. Default: the
    /// store's path with `.key` added.
    #[arg(long, env = "HUIFANG_FIELD_KEY_FILE", global = true)]
    key_file: Option<PathBuf>,
    /// PEM file of the company's certificate authority, if the server's certificate is private.
    #[arg(long, env = "HUIFANG_FIELD_CA", global = true)]
    ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| key_file::beside(&self.store))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Sign in (the password is read from standard input when --password is absent).
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        username: String,
        #[arg(long, env = "HUIFANG_FIELD_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "huifang-field")]
        device: String,
    },
    /// Sign out; refused while changes have not reached the server, unless --discard.
    Logout {
        #[arg(long)]
        discard: bool,
    },
    /// Send local changes, receive new work.
    Sync,
    /// Wait for new work on the live channel and sync each time it arrives (Ctrl-C stops).
    Listen,
    /// Open follow-ups: due today and overdue, or all of them by building.
    Tasks {
        #[arg(long)]
        all: bool,
    },
    /// A follow-up or sheet, in full (JSON).
    Show { id: String },
    /// Search households and sheets by name, phone, address or number.
    Search { text: String },
    /// A household's follow-up file.
    Household { id: i64 },
    /// Record a follow-up's outcome.
    Record {
        follow_up_id: String,
        /// phone, home_visit, customer_form, forum or other.
        #[arg(long)]
        method: FollowUpMethod,
        /// handling,efficiency,quality,attitude,overall — each 1 to 5.
        #[arg(long, value_parser = parse_ratings)]
        ratings: Ratings,
        #[arg(long, default_value = "")]
        opinions: String,
        /// When it was done (RFC 3339); default now.
        #[arg(long)]
        done_at: Option<String>,
    },
    /// Record a failed attempt to reach the customer.
    Unreachable {
        follow_up_id: String,
        #[arg(long, default_value = "phone")]
        method: FollowUpMethod,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The customer signs to confirm a repair: strokes from a JSON file
    /// `{"width":300,"height":120,"strokes":[{"points":[{"x":1,"y":2,"t_ms":0,"pressure":null}]}]}`.
    Sign {
        follow_up_id: String,
        #[arg(long)]
        strokes: PathBuf,
        #[arg(long)]
        signer: String,
        #[arg(long, value_parser = parse_ratings)]
        ratings: Ratings,
        #[arg(long, default_value = "")]
        opinions: String,
    },
    /// Attach a photo (JPEG, PNG or HEIC) to a sheet or a repair's follow-up; its location is
    /// removed first.
    Photo {
        document_id: String,
        #[arg(long)]
        file: PathBuf,
        /// reported (on a sheet), before or after (on a repair's follow-up).
        #[arg(long)]
        purpose: PhotoPurpose,
        #[arg(long, default_value = "")]
        caption: String,
    },
    /// The opinion survey form a survey follow-up asks its household.
    Survey { follow_up_id: String },
    /// Record the household's answers to the survey form (R-SUR-2), one --answer per question:
    /// `overall=5` (a rating), `channel=app` (an option), `improve=clean,safety` (options),
    /// `advice=电梯维护要及时` (text).
    Answer {
        follow_up_id: String,
        #[arg(long = "answer", value_parser = parse_answer)]
        answers: Vec<(String, String)>,
    },
    /// Accept a new information sheet.
    Accept {
        #[arg(long)]
        level: ComplaintLevel,
        #[arg(long)]
        category: SheetCategory,
        #[arg(long, default_value = "home_visit")]
        source: InformationSource,
        #[arg(long)]
        household: Option<i64>,
        #[arg(long)]
        customer: Option<i64>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        address: Option<String>,
        /// What the customer reported (repeat for several items).
        #[arg(long = "item", required = true)]
        items: Vec<String>,
    },
}

fn parse_ratings(text: &str) -> std::result::Result<Ratings, String> {
    let values: Vec<u8> = text
        .split(',')
        .map(|v| v.trim().parse::<u8>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("{text:?}: five numbers separated by commas, like 5,5,4,5,5"))?;
    let [handling, efficiency, quality, attitude, overall] = values[..] else {
        return Err(format!(
            "{text:?}: five ratings are needed, not {}",
            values.len()
        ));
    };
    Ok(Ratings {
        handling,
        efficiency,
        quality,
        attitude,
        overall,
    })
}

fn parse_answer(text: &str) -> std::result::Result<(String, String), String> {
    let (question, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: question=answer, like overall=5"))?;
    Ok((question.trim().to_owned(), value.trim().to_owned()))
}

/// The answers typed, each read as its question on the form asks (a question not on the form is
/// passed on as text, for the core's review to name).
fn survey_answers(form: &SurveyContent, given: Vec<(String, String)>) -> Result<Vec<SurveyAnswer>> {
    given
        .into_iter()
        .map(|(question_id, value)| {
            let mut answer = SurveyAnswer {
                question_id,
                rating: None,
                choices: Vec::new(),
                text: None,
            };
            let kind = form
                .questions
                .iter()
                .find(|q| q.id == answer.question_id)
                .map(|q| q.kind);
            match kind {
                Some(QuestionKind::Rating) => {
                    answer.rating = Some(value.parse().with_context(|| {
                        format!("{}: a rating is a number 1 to 5", answer.question_id)
                    })?);
                }
                Some(QuestionKind::SingleChoice | QuestionKind::MultipleChoice) => {
                    answer.choices = value.split(',').map(|c| c.trim().to_owned()).collect();
                }
                Some(QuestionKind::FreeText) | None => answer.text = Some(value),
            }
            Ok(answer)
        })
        .collect()
}

fn print_survey_form(form: &SurveyFormRow) {
    println!(
        "{}  (form {}, approved version {})",
        form.content.title, form.id, form.approved_sha256
    );
    if !form.content.introduction.is_empty() {
        println!("{}", form.content.introduction);
    }
    for question in &form.content.questions {
        let asks = match question.kind {
            QuestionKind::Rating => "rating 1-5".to_owned(),
            QuestionKind::FreeText => "text".to_owned(),
            QuestionKind::SingleChoice | QuestionKind::MultipleChoice => format!(
                "{}: {}",
                if question.kind == QuestionKind::SingleChoice {
                    "one of"
                } else {
                    "any of"
                },
                question
                    .options
                    .iter()
                    .map(|o| format!("{}={}", o.id, o.text))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        println!(
            "{}  [{asks}{}]  {}",
            question.id,
            if question.required { ", required" } else { "" },
            question.text
        );
    }
}

/// The signature canvas's output as a file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StrokesFile {
    width: u32,
    height: u32,
    strokes: Vec<Stroke>,
}

struct Field {
    store: ClientStore,
    ca_pem: Option<Vec<u8>>,
}

impl Field {
    fn transport(&self, server_url: &str) -> Result<HttpTransport, ClientError> {
        HttpTransport::with_root_certificates(
            server_url,
            self.ca_pem.as_deref().unwrap_or_default(),
        )
    }

    fn signed_in_transport(&self) -> Result<HttpTransport, ClientError> {
        let session = self.store.session()?.ok_or(ClientError::NotSignedIn)?;
        self.transport(&session.server_url)
    }
}

fn print_task(task: &Task) {
    let place = [&task.community_name, &task.building_name, &task.room]
        .iter()
        .filter_map(|p| p.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    println!(
        "{}  {}  {}  {} {}  due {}{}  [{}]  {}",
        task.follow_up_id,
        task.status,
        task.kind,
        task.customer_name,
        huifang_protocol::mask_phone(&task.contact_phone),
        task.due_local,
        if task.overdue { " OVERDUE" } else { "" },
        task.rule,
        if place.is_empty() {
            task.address.clone().unwrap_or_default()
        } else {
            place
        },
    );
}

fn read_password() -> Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("password: ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn run(cli: Cli) -> Result<()> {
    let ca_pem = match &cli.ca {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None => None,
    };
    let field = Field {
        store: key_file::open_store(&cli.store, &cli.key_file())?,
        ca_pem,
    };
    let store = &field.store;
    match cli.command {
        Command::Login {
            server,
            username,
            password,
            device,
        } => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let transport = field.transport(&server)?;
            let session = store.log_in(&transport, &username, &password, &device)?;
            println!(
                "signed in as {} ({}, {}) at {}",
                session.name,
                session.username,
                session.role.label_zh(),
                session.server_url
            );
        }
        Command::Logout { discard } => {
            store.sign_out(discard)?;
            println!("signed out; this store holds nothing of theirs any more");
        }
        Command::Sync => {
            let transport = field.signed_in_transport()?;
            let report = store.sync_with_progress(&transport, &|p| {
                if p.pages > 1 {
                    eprintln!("page {}: {} documents", p.pages, p.received);
                }
            })?;
            println!(
                "sent {} (committed {}), received {}, removed {}, {} page(s), {} B up, {} B down, {} ms",
                report.sent,
                report.committed,
                report.received,
                report.removed,
                report.pages,
                report.bytes_sent,
                report.bytes_received,
                report.duration_ms
            );
            for notice in &report.rejected {
                println!("not accepted: {}: {}", notice.document_id, notice.reason);
            }
        }
        Command::Listen => {
            let transport = field.signed_in_transport()?;
            loop {
                store.listen_for_work(&transport, &|| {
                    match store.sync_now(&transport) {
                        Ok(report) => println!("new work: received {}", report.received),
                        Err(e) => eprintln!("sync failed: {e}"),
                    }
                    true
                })?;
            }
        }
        Command::Tasks { all } => {
            if all {
                for building in store.tasks_by_building(store.now())? {
                    println!("{} {}", building.community_name, building.building_name);
                    for task in &building.tasks {
                        print!("  ");
                        print_task(task);
                    }
                }
            } else {
                let tasks = store.tasks_due(store.now())?;
                if tasks.is_empty() {
                    println!("nothing due today");
                }
                tasks.iter().for_each(print_task);
            }
        }
        Command::Show { id } => {
            let json = match store.follow_up(&id) {
                Ok(follow_up) => serde_json::to_string_pretty(&follow_up)?,
                Err(ClientError::NotFound { .. }) => {
                    serde_json::to_string_pretty(&store.sheet(&id)?)?
                }
                Err(e) => return Err(e.into()),
            };
            println!("{json}");
        }
        Command::Search { text } => {
            let found = store.search(&text)?;
            for hit in &found.households {
                println!(
                    "household {}  {}  {}",
                    hit.household_id, hit.address, hit.customer_names
                );
            }
            for sheet in &found.sheets {
                println!(
                    "sheet {}  {}  {}  {}",
                    sheet.number.as_deref().unwrap_or(&sheet.id),
                    sheet.status,
                    sheet.customer_name,
                    sheet.summary
                );
            }
        }
        Command::Household { id } => {
            let history = store.household_history(id)?;
            println!("{}", history.address);
            for customer in &history.customers {
                println!(
                    "  {} {}",
                    customer.name,
                    huifang_protocol::mask_phone(&customer.phone)
                );
            }
            for sheet in &history.sheets {
                println!(
                    "  sheet {} {} {}",
                    sheet.number.as_deref().unwrap_or(&sheet.id),
                    sheet.status,
                    sheet.summary
                );
            }
            history.follow_ups.iter().for_each(|t| {
                print!("  ");
                print_task(t)
            });
        }
        Command::Record {
            follow_up_id,
            method,
            ratings,
            opinions,
            done_at,
        } => {
            store.record_outcome(
                &follow_up_id,
                OutcomeInput {
                    method,
                    ratings,
                    opinions,
                    done_at,
                },
            )?;
            print_task(&store.task(&follow_up_id)?);
        }
        Command::Photo {
            document_id,
            file,
            purpose,
            caption,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let photo = store.attach_photo(
                &document_id,
                PhotoInput {
                    bytes,
                    purpose,
                    caption,
                },
            )?;
            println!(
                "attached {} photo {} ({}) to {document_id}; it is uploaded at the next sync",
                photo.format, photo.blob_sha256, photo.purpose
            );
        }
        Command::Survey { follow_up_id } => print_survey_form(&store.survey_form(&follow_up_id)?),
        Command::Answer {
            follow_up_id,
            answers,
        } => {
            let form = store.survey_form(&follow_up_id)?;
            store.answer_survey(&follow_up_id, survey_answers(&form.content, answers)?)?;
            print_task(&store.task(&follow_up_id)?);
        }
        Command::Unreachable {
            follow_up_id,
            method,
            note,
        } => {
            store.record_unreachable(&follow_up_id, method, note)?;
            print_task(&store.task(&follow_up_id)?);
        }
        Command::Sign {
            follow_up_id,
            strokes,
            signer,
            ratings,
            opinions,
        } => {
            let text = std::fs::read(&strokes)
                .with_context(|| format!("reading {}", strokes.display()))?;
            let file: StrokesFile = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not a strokes file", strokes.display()))?;
            let signature = SignatureInput {
                strokes: file.strokes,
                width: file.width,
                height: file.height,
                signer_name: signer,
            };
            store.complete_with_signature(&follow_up_id, signature, ratings, opinions)?;
            print_task(&store.task(&follow_up_id)?);
            let check = store.verify_signature(&follow_up_id)?;
            println!(
                "signature {}",
                if check.intact {
                    "intact"
                } else {
                    &check.reason
                }
            );
        }
        Command::Accept {
            level,
            category,
            source,
            household,
            customer,
            name,
            phone,
            address,
            items,
        } => {
            let sheet = store.accept_sheet(NewSheet {
                level,
                category,
                source,
                household_id: household,
                customer_id: customer,
                customer_name: name,
                contact_phone: phone,
                customer_address: address,
                items,
            })?;
            println!(
                "accepted sheet {} (its number comes with the next sync)",
                sheet.id
            );
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let key_file = cli.key_file();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // The store is gone on the server's order; its key goes with it.
            if let Some(ClientError::Wiped) = error.downcast_ref::<ClientError>()
                && std::fs::remove_file(&key_file).is_ok()
            {
                eprintln!(
                    "the store's key file {} was deleted too",
                    key_file.display()
                );
            }
            // 2: the input or the state was wrong (nothing changed); 1: anything else.
            match error.downcast_ref::<ClientError>() {
                Some(
                    ClientError::Offline { .. }
                    | ClientError::Storage { .. }
                    | ClientError::Corrupt { .. },
                )
                | None => std::process::ExitCode::from(1),
                Some(_) => std::process::ExitCode::from(2),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_five_numbers() {
        assert_eq!(parse_ratings("5,4,3,2,1").unwrap().quality, 3);
        assert!(parse_ratings("5,4").unwrap_err().contains("five"));
        assert!(parse_ratings("a,b").is_err());
    }

    #[test]
    fn strokes_files_are_read_strictly() {
        let file: StrokesFile = serde_json::from_str(
            r#"{"width":300,"height":120,"strokes":[{"points":[{"x":1,"y":2,"t_ms":0,"pressure":null}]}]}"#,
        )
        .unwrap();
        assert_eq!(file.strokes[0].points.len(), 1);
        assert!(
            serde_json::from_str::<StrokesFile>(r#"{"width":1,"height":1,"strokes":[],"x":1}"#)
                .is_err()
        );
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
