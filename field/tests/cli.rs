//! `huifang-field` against a real server (in this process, on a random port, over the demo
//! company): sign in, sync, see the follow-up, refuse bad input, sign offline, sync again.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const USER: &str = "ch.csc.01";

/// Starts the server over a fresh demo company; returns its URL (it runs until the test ends).
fn start_server(data_dir: &std::path::Path) -> String {
    let data_dir = data_dir.to_path_buf();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let config = huifang_server::Config::new(
                data_dir.clone(),
                None,
                "Asia/Shanghai".parse().unwrap(),
            );
            let db = huifang_server::Database::open(None, &data_dir)
                .await
                .unwrap();
            db.migrate().await.unwrap();
            huifang_server::demo::seed(
                &db,
                "Asia/Shanghai".parse().unwrap(),
                huifang_server::demo::Past::None,
            )
            .await
            .unwrap();
            let app =
                huifang_server::Application::build(config, db, "127.0.0.1:0".parse().unwrap())
                    .await
                    .unwrap();
            sender
                .send(format!("http://{}", app.local_addr().unwrap()))
                .unwrap();
            app.run_until_stopped(std::future::pending()).await.unwrap();
        });
    });
    receiver.recv().unwrap()
}

struct Api {
    base: String,
    token: String,
    client: reqwest::blocking::Client,
}

impl Api {
    fn sign_in(base: &str) -> Api {
        Api::sign_in_as(base, USER)
    }

    fn sign_in_as(base: &str, username: &str) -> Api {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::new();
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": huifang_server::demo::DEMO_PASSWORD }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        Api {
            base: base.to_owned(),
            token: login["token"].as_str().unwrap().to_owned(),
            client,
        }
    }

    fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().unwrap()
    }

    /// A handled repair sheet; returns its follow-up's id (given to the service centre).
    fn open_follow_up(&self) -> (String, String) {
        let households = self.get("/api/v1/households?limit=1");
        let customer = &households["items"][0]["customers"][0];
        let sheet = self.post(
            "/api/v1/sheets",
            json!({ "level": "ordinary", "category": "repair", "source": "phone",
                    "customer_id": customer["id"], "items": ["卫生间漏水"] }),
        );
        let handled = self.post(
            &format!("/api/v1/sheets/{}/handled", sheet["id"].as_str().unwrap()),
            json!({ "result": "已修复" }),
        );
        (
            handled["follow_up"]["id"].as_str().unwrap().to_owned(),
            customer["name"].as_str().unwrap().to_owned(),
        )
    }
}

fn field(store: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_huifang-field"))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Signs the field client in; the password comes on standard input, never on the command line.
fn log_in(store: &std::path::Path, base: &str) {
    let mut login = Command::new(env!("CARGO_BIN_EXE_huifang-field"))
        .arg("--store")
        .arg(store)
        .args(["login", "--server", base, "--username", USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        login.stdin.take().unwrap(),
        "{}",
        huifang_server::demo::DEMO_PASSWORD
    )
    .unwrap();
    let login = login.wait_with_output().unwrap();
    assert!(login.status.success());
    assert!(String::from_utf8_lossy(&login.stdout).contains("signed in as"));
}

#[test]
fn a_day_in_the_field_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let base = start_server(&dir.path().join("server"));
    let api = Api::sign_in(&base);
    let (follow_up, customer) = api.open_follow_up();
    let store = dir.path().join("field.db");
    log_in(&store, &base);

    let synced = ok(field(&store, &["sync"]));
    assert!(synced.contains("received"), "{synced}");
    let tasks = ok(field(&store, &["tasks", "--all"]));
    assert!(tasks.contains(&follow_up), "{tasks}");
    assert!(
        !tasks.contains("13800"),
        "phone numbers are masked on screen: {tasks}"
    );

    // Bad input: exit code 2, a reason, and nothing stored.
    let bad = field(
        &store,
        &[
            "record",
            &follow_up,
            "--method",
            "home_visit",
            "--ratings",
            "6,5,5,5,5",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("1 to 5"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let unknown = field(&store, &["show", &"0".repeat(32)]);
    assert_eq!(unknown.status.code(), Some(2));
    let nonsense = field(
        &store,
        &[
            "record",
            &follow_up,
            "--method",
            "telepathy",
            "--ratings",
            "5,5,5,5,5",
        ],
    );
    assert_eq!(
        nonsense.status.code(),
        Some(2),
        "clap refuses an unknown method"
    );

    // Offline: a photo of the repair before it is done (judged by its content, not its name).
    let picture = dir.path().join("leak.jpg");
    std::fs::write(
        &picture,
        [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x00, 0xFF, 0xD9],
    )
    .unwrap();
    let attached = ok(field(
        &store,
        &[
            "photo",
            &follow_up,
            "--file",
            picture.to_str().unwrap(),
            "--purpose",
            "before",
        ],
    ));
    assert!(attached.contains("attached jpeg photo"), "{attached}");
    let not_a_photo = dir.path().join("notes.jpg");
    std::fs::write(&not_a_photo, "这不是照片").unwrap();
    let refused = field(
        &store,
        &[
            "photo",
            &follow_up,
            "--file",
            not_a_photo.to_str().unwrap(),
            "--purpose",
            "after",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("JPEG, PNG or HEIC"));

    // Offline: the customer signs; the change waits in the local store.
    let strokes = dir.path().join("strokes.json");
    std::fs::write(
        &strokes,
        r#"{"width":300,"height":120,"strokes":[{"points":[{"x":10,"y":20,"t_ms":0,"pressure":null},{"x":60,"y":40,"t_ms":80,"pressure":null}]}]}"#,
    )
    .unwrap();
    let signed = ok(field(
        &store,
        &[
            "sign",
            &follow_up,
            "--strokes",
            strokes.to_str().unwrap(),
            "--signer",
            &customer,
            "--ratings",
            "5,5,4,5,5",
        ],
    ));
    assert!(
        signed.contains("completed") && signed.contains("signature intact"),
        "{signed}"
    );
    let refused = field(&store, &["logout"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "unsynced work is not dropped"
    );

    let synced = ok(field(&store, &["sync"]));
    assert!(synced.contains("committed 1"), "{synced}");
    let seen = api.get(&format!("/api/v1/followups/{follow_up}"));
    assert_eq!(seen["follow_up"]["status"], "completed");
    assert_eq!(seen["follow_up"]["outcome"]["method"], "on_site_signature");
    assert_eq!(seen["follow_up"]["photos"][0]["purpose"], "before");
    let shown: Value = serde_json::from_str(&ok(field(&store, &["show", &follow_up]))).unwrap();
    assert_eq!(shown["status"], "completed");
    ok(field(&store, &["logout"]));
}

/// #18, R-SUR-2: the annual survey's approved form shown and answered from the terminal offline;
/// answers that do not fit the form are refused with the reason, and the answers reach the server.
#[test]
fn r_sur_2_the_survey_answered_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let base = start_server(&dir.path().join("server"));
    let (dev, gm, office) = (
        Api::sign_in_as(&base, "dev.head"),
        Api::sign_in_as(&base, "gm"),
        Api::sign_in(&base),
    );
    let form = dev.post(
        "/api/v1/surveys",
        json!({"title": "年度客户意见调查表", "year": 2026, "questions": [
            {"id": "overall", "text": "您对物业服务的总体评价", "kind": "rating", "required": true},
            {"id": "improve", "text": "希望改进的方面", "kind": "multiple_choice",
             "options": [{"id": "clean", "text": "保洁"}, {"id": "green", "text": "绿化"}]},
            {"id": "advice", "text": "其他意见或建议", "kind": "free_text"}]}),
    );
    let path = format!("/api/v1/surveys/{}", form["id"]);
    let submitted = dev.post(&format!("{path}/submit"), json!({}));
    gm.post(
        &format!("{path}/approve"),
        json!({"content_sha256": submitted["content_sha256"]}),
    );
    let community = office.get("/api/v1/households?limit=1")["items"][0]["community_id"].clone();
    dev.post(
        &format!("{path}/distribute"),
        json!({"community_ids": [community]}),
    );
    let survey = office.get("/api/v1/followups?view=unit&kind=survey&limit=1")["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = dir.path().join("field.db");
    log_in(&store, &base);
    ok(field(&store, &["sync"]));

    let shown = ok(field(&store, &["survey", &survey]));
    assert!(shown.contains("年度客户意见调查表"), "{shown}");
    assert!(shown.contains("overall  [rating 1-5, required]"), "{shown}");
    assert!(shown.contains("clean=保洁"), "{shown}");
    let misfit = field(
        &store,
        &[
            "answer",
            &survey,
            "--answer",
            "overall=7",
            "--answer",
            "improve=pool",
        ],
    );
    assert_eq!(misfit.status.code(), Some(2));
    let reason = String::from_utf8_lossy(&misfit.stderr);
    assert!(
        reason.contains("1 to 5") && reason.contains("not an option"),
        "{reason}"
    );
    let answered = ok(field(
        &store,
        &[
            "answer",
            &survey,
            "--answer",
            "overall=4",
            "--answer",
            "improve=clean,green",
            "--answer",
            "advice=电梯按钮坏了",
        ],
    ));
    assert!(answered.contains("completed"), "{answered}");
    let synced = ok(field(&store, &["sync"]));
    assert!(synced.contains("committed 1"), "{synced}");
    let seen = office.get(&format!("/api/v1/followups/{survey}"));
    assert_eq!(seen["follow_up"]["status"], "completed");
    assert_eq!(
        seen["follow_up"]["survey_response"]["answers"][1]["choices"],
        json!(["clean", "green"])
    );
}

/// #18: the field client's store is encrypted under a key kept in a file of its user's alone,
/// made on first use; a key file others can read, a missing one and a wrong one are refused
/// with a reason, and none of them changes the store.
#[test]
fn the_store_key_lives_in_a_file_of_its_users_own() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("field.db");
    let key_file = dir.path().join("field.db.key");
    let not_signed_in = field(&store, &["tasks"]);
    assert_eq!(not_signed_in.status.code(), Some(2));
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 64, "{key}");
    assert!(key.trim().chars().all(|c| c.is_ascii_hexdigit()));
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(&store), 0o600);
    let stored = std::fs::read(&store).unwrap();
    assert!(
        !stored.starts_with(b"SQLite format 3"),
        "the store is encrypted"
    );
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let exposed = field(&store, &["tasks"]);
    assert_eq!(exposed.status.code(), Some(1));
    assert!(
        stderr(&exposed).contains("readable by others"),
        "{}",
        stderr(&exposed)
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let wrong = field(&store, &["tasks"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("wrong key file"),
        "{}",
        stderr(&wrong)
    );

    std::fs::remove_file(&key_file).unwrap();
    let missing = field(&store, &["tasks"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("key file"),
        "{}",
        stderr(&missing)
    );
    assert!(
        !key_file.exists(),
        "no new key is left for a store it cannot open"
    );
    assert_eq!(
        std::fs::read(&store).unwrap(),
        stored,
        "the store is untouched"
    );

    // The key the store was made with still opens it.
    std::fs::write(&key_file, &key).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        field(&store, &["tasks"]).status.code(),
        Some(2),
        "not signed in, but open"
    );
    assert!(stderr(&field(&store, &["tasks"])).contains("nobody is signed in"));
}
