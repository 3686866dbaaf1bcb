//! Accounts, tokens and the audit record from the command line, through the real binary: the
//! first admin, refused memberships, a token shown once and kept only as a hash, and `audit
//! verify` on an intact chain, an edited entry, a deleted entry and two processes appending at
//! once.

use std::path::Path;
use std::process::{Command, Stdio};

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::import_export::run;
use crate::common::binary;

const PASSWORD: &[u8] = b"a long enough password\n";

fn ok(data: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let (ok, stdout, stderr) = run(data, args, stdin);
    assert!(ok, "{args:?}: {stderr}");
    stdout
}

fn refused(data: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let (ok, stdout, stderr) = run(data, args, stdin);
    assert!(!ok, "{args:?} should fail: {stdout}");
    stderr
}

async fn sqlite(data: &Path) -> SqliteConnection {
    let options = SqliteConnectOptions::new().filename(data.join("gateway.sqlite3"));
    SqliteConnection::connect_with(&options).await.unwrap()
}

#[test]
fn accounts_and_tokens_are_managed_and_every_change_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listed = ok(&data, &["user", "list"], None);
    assert!(listed.contains("no users yet"), "{listed}");

    let out = ok(
        &data,
        &[
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert!(out.contains("user admin created (admin)"), "{out}");
    let again = refused(
        &data,
        &["user", "add", "admin", "--role", "triage", "--no-password"],
        None,
    );
    assert!(again.contains("exists already"), "{again}");
    let weak = refused(
        &data,
        &["user", "add", "li", "--role", "triage", "--password-stdin"],
        Some(b"short\n"),
    );
    assert!(weak.contains("at least 10 characters"), "{weak}");
    let no_queue = refused(
        &data,
        &[
            "user",
            "add",
            "li",
            "--role",
            "investigator",
            "--no-password",
        ],
        None,
    );
    assert!(no_queue.contains("at least one queue"), "{no_queue}");
    let unknown = refused(
        &data,
        &[
            "user",
            "add",
            "li",
            "--role",
            "investigator",
            "--queue",
            "nowhere",
            "--no-password",
        ],
        None,
    );
    assert!(unknown.contains("no queue `nowhere`"), "{unknown}");
    let bad_actor = refused(
        &data,
        &[
            "user",
            "add",
            "li",
            "--role",
            "triage",
            "--no-password",
            "--as",
            "ghost",
        ],
        None,
    );
    assert!(
        bad_actor.contains("--as ghost: no such user"),
        "{bad_actor}"
    );
    ok(
        &data,
        &[
            "user",
            "add",
            "li",
            "--role",
            "investigator",
            "--queue",
            "finance",
            "--lead",
            "audit",
            "--email",
            "li@example.gov.cn",
            "--no-password",
            "--as",
            "admin",
        ],
        None,
    );
    let listed = ok(&data, &["user", "list"], None);
    assert!(
        listed.contains("li\tinvestigator\taudit (lead),finance\tactive\tli@example.gov.cn"),
        "{listed}"
    );

    let (created, token, stderr) = run(
        &data,
        &[
            "token",
            "create",
            "--user",
            "li",
            "--name",
            "周报脚本",
            "--expires",
            "90d",
            "--as",
            "admin",
        ],
        None,
    );
    assert!(created, "{stderr}");
    let token = token.trim().to_string();
    assert!(token.starts_with("cgt_"), "{token}");
    assert!(stderr.contains("shown once"), "{stderr}");
    let id = token.split('_').nth(1).unwrap().to_string();
    let tokens = ok(&data, &["token", "list"], None);
    assert!(
        tokens.contains(&format!("{id}\tli\t周报脚本\tactive")),
        "{tokens}"
    );
    let secret = token.rsplit('_').next().unwrap();
    assert!(!tokens.contains(secret), "the secret is never listed");
    ok(&data, &["token", "revoke", &id, "--as", "admin"], None);
    let tokens = ok(&data, &["token", "list", "--user", "li"], None);
    assert!(tokens.contains("\trevoked\t"), "{tokens}");
    let twice = refused(&data, &["token", "revoke", &id], None);
    assert!(twice.contains("revoked already"), "{twice}");

    ok(&data, &["user", "disable", "li", "--as", "admin"], None);
    let disabled_actor = refused(&data, &["user", "unlock", "admin", "--as", "li"], None);
    assert!(disabled_actor.contains("disabled"), "{disabled_actor}");

    let verified = ok(&data, &["audit", "verify"], None);
    assert!(
        verified.contains("audit record intact: 5 entries"),
        "{verified}"
    );
    let entries = ok(&data, &["audit", "list", "--actor", "admin"], None);
    let actions: Vec<&str> = entries
        .lines()
        .map(|l| l.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["user.add", "token.create", "token.revoke", "user.disable"]
    );
    assert!(!entries.contains(secret), "no secret in the record");
    let first = ok(&data, &["audit", "list", "--action", "user.add"], None);
    assert!(first.lines().next().unwrap().contains("\tcli"), "{first}");

    // `reprocess` leaves the record alone, and a backup carries it whole.
    ok(&data, &["reprocess"], None);
    assert!(ok(&data, &["audit", "verify"], None).contains("intact: 5 entries"));
    let backup = dir.path().join("backup.sqlite3");
    ok(&data, &["backup", backup.to_str().unwrap()], None);
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&backup, restored.join("gateway.sqlite3")).unwrap();
    let verified = ok(&restored, &["audit", "verify"], None);
    assert!(
        verified.contains("audit record intact: 5 entries"),
        "{verified}"
    );
    let users = ok(&restored, &["user", "list"], None);
    assert!(
        users.contains("admin\tadmin") && users.contains("li\t"),
        "{users}"
    );
}

#[tokio::test]
async fn audit_verify_names_an_edited_and_a_deleted_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for name in ["a1", "a2", "a3", "a4"] {
        ok(
            &data,
            &["user", "add", name, "--role", "triage", "--no-password"],
            None,
        );
    }
    assert!(ok(&data, &["audit", "verify"], None).contains("intact: 4 entries"));

    // The record refuses changes through SQL…
    let mut conn = sqlite(&data).await;
    let refused_update = sqlx::query("UPDATE audit SET actor = 'x' WHERE seq = 2")
        .execute(&mut conn)
        .await;
    assert!(refused_update.is_err(), "the trigger refuses updates");
    // …and someone who drops the trigger is caught by `verify`, at exactly that entry.
    sqlx::query("DROP TRIGGER audit_no_update")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let edited = refused(&data, &["audit", "verify"], None);
    assert!(
        edited.contains("entry 2 does not match its hash"),
        "{edited}"
    );
    assert!(edited.contains("1 entries before it verified"), "{edited}");

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for name in ["b1", "b2", "b3", "b4"] {
        ok(
            &data,
            &["user", "add", name, "--role", "triage", "--no-password"],
            None,
        );
    }
    let mut conn = sqlite(&data).await;
    sqlx::query("DROP TRIGGER audit_no_delete")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit WHERE seq = 3")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let deleted = refused(&data, &["audit", "verify"], None);
    assert!(
        deleted.contains("entry 3 is missing (the chain goes from 2 to 4)"),
        "{deleted}"
    );
}

#[test]
fn two_processes_appending_at_once_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The store exists before the two start, as with a running gateway.
    ok(&data, &["user", "list"], None);
    let spawn_adds = |prefix: &str| {
        let data = data.clone();
        let prefix = prefix.to_string();
        std::thread::spawn(move || {
            for n in 0..6 {
                let status = Command::new(binary())
                    .arg("--data-dir")
                    .arg(&data)
                    .args(["user", "add", &format!("{prefix}{n}"), "--role", "triage"])
                    .arg("--no-password")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success());
            }
        })
    };
    let (first, second) = (spawn_adds("p"), spawn_adds("q"));
    first.join().unwrap();
    second.join().unwrap();
    let verified = ok(&data, &["audit", "verify"], None);
    assert!(verified.contains("intact: 12 entries"), "{verified}");
}
