//! The template files: one per notice, `subject: …` on its first line and the body after it,
//! rendered by minijinja. The shipped files (`config/templates/mail/`) are embedded; a file of
//! the same name in `notify.templates_dir` replaces one. Every template is checked when loaded
//! — it parses, names no placeholder its notice does not have (strict undefined), and renders
//! the samples of [`super::sample`] — so a broken edit stops `serve` with the file and the
//! line instead of sending broken mail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::Rendered;
use crate::notify::NotifyError;

/// One notice, by its template file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Notice {
    /// 交办通知, to the queue a case is assigned (or reassigned) to.
    Assignment,
    /// 待分拣, a case sent to the triage queue.
    Triage,
    /// 移送通知, the assignment of a case of the `transfer` channel.
    Transfer,
    /// 知会, to a unit informed of a case.
    Informed,
    /// 催办通知.
    Reminder,
    /// 催签收.
    AcceptOverdue,
    /// 逾期通知.
    Overdue,
    /// 逾期升级.
    Escalation,
    /// 退单, to the triage queue.
    Returned,
    /// 重新办理, a reopened case to its unit.
    Reopened,
    /// 每日汇总.
    Digest,
}

impl Notice {
    /// Every notice, in the order the check lists them.
    pub const ALL: [Notice; 11] = [
        Notice::Assignment,
        Notice::Triage,
        Notice::Transfer,
        Notice::Informed,
        Notice::Reminder,
        Notice::AcceptOverdue,
        Notice::Overdue,
        Notice::Escalation,
        Notice::Returned,
        Notice::Reopened,
        Notice::Digest,
    ];

    /// The template's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Notice::Assignment => "assignment.txt",
            Notice::Triage => "triage.txt",
            Notice::Transfer => "transfer.txt",
            Notice::Informed => "informed.txt",
            Notice::Reminder => "reminder.txt",
            Notice::AcceptOverdue => "accept_overdue.txt",
            Notice::Overdue => "overdue.txt",
            Notice::Escalation => "escalation.txt",
            Notice::Returned => "returned.txt",
            Notice::Reopened => "reopened.txt",
            Notice::Digest => "digest.txt",
        }
    }

    /// The shipped template.
    pub fn shipped(self) -> &'static str {
        match self {
            Notice::Assignment => include_str!("../../../config/templates/mail/assignment.txt"),
            Notice::Triage => include_str!("../../../config/templates/mail/triage.txt"),
            Notice::Transfer => include_str!("../../../config/templates/mail/transfer.txt"),
            Notice::Informed => include_str!("../../../config/templates/mail/informed.txt"),
            Notice::Reminder => include_str!("../../../config/templates/mail/reminder.txt"),
            Notice::AcceptOverdue => {
                include_str!("../../../config/templates/mail/accept_overdue.txt")
            }
            Notice::Overdue => include_str!("../../../config/templates/mail/overdue.txt"),
            Notice::Escalation => include_str!("../../../config/templates/mail/escalation.txt"),
            Notice::Returned => include_str!("../../../config/templates/mail/returned.txt"),
            Notice::Reopened => include_str!("../../../config/templates/mail/reopened.txt"),
            Notice::Digest => include_str!("../../../config/templates/mail/digest.txt"),
        }
    }

    /// The placeholders the notice's template may use (the keys of its context).
    pub fn placeholders(self) -> Vec<String> {
        let [sample, _] = super::sample::contexts(self);
        sample
            .try_iter()
            .map(|keys| keys.map(|k| k.to_string()).collect())
            .unwrap_or_default()
    }

    fn subject_name(self) -> String {
        format!("{}#subject", self.file_name())
    }

    fn body_name(self) -> String {
        format!("{}#body", self.file_name())
    }
}

/// Where a template came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The shipped template, built into the binary.
    BuiltIn,
    /// An edited copy in `notify.templates_dir`.
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built in"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why the templates cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the mail templates in {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error(
        "{path} is not one of the gateway's mail templates ({known}): rename it to the notice \
         it edits, or move it out of the directory"
    )]
    UnknownFile { path: PathBuf, known: String },
    #[error(
        "mail template {file} ({origin}), line {line}: {message}; fix it, then run \
         `complaint-gateway notify templates check`"
    )]
    Invalid {
        file: &'static str,
        origin: Origin,
        line: usize,
        message: String,
    },
}

/// One template as the check found it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub notice: Notice,
    pub origin: Origin,
    /// The first sample rendered, or why the template cannot be used.
    pub result: Result<Rendered, TemplateError>,
}

/// Every notice's template, parsed and checked: loaded once, shared by whatever renders
/// notices (no file is read per notice).
#[derive(Debug)]
pub struct MailTemplates {
    env: Environment<'static>,
    origins: BTreeMap<Notice, Origin>,
}

/// The shipped templates, which a failing edited one falls back to.
static BUILT_IN: LazyLock<MailTemplates> = LazyLock::new(MailTemplates::built_in);

impl MailTemplates {
    /// The shipped templates alone.
    pub fn built_in() -> MailTemplates {
        let texts = Notice::ALL.map(|n| (n, n.shipped().to_string(), Origin::BuiltIn));
        let (templates, checked) = MailTemplates::compile(texts);
        for c in checked {
            if let Err(error) = c.result {
                panic!("a shipped mail template is broken: {error}");
            }
        }
        templates
    }

    /// The shipped templates, each replaced by the file of the same name in `dir` when there
    /// is one (a missing directory replaces none); the first problem is the error.
    pub fn load(dir: &Path) -> Result<MailTemplates, TemplateError> {
        let (templates, checked, problems) = MailTemplates::read(dir);
        if let Some(problem) = problems.into_iter().next() {
            return Err(problem);
        }
        for c in checked {
            c.result?;
        }
        Ok(templates)
    }

    /// What [`MailTemplates::load`] finds in `dir`, template by template, with a sample of
    /// each (`notify templates check`); the problems are files that are not templates, or a
    /// directory that cannot be read.
    pub fn check(dir: &Path) -> (Vec<Checked>, Vec<TemplateError>) {
        let (_, checked, problems) = MailTemplates::read(dir);
        (checked, problems)
    }

    /// Where each notice's template came from.
    pub fn origin(&self, notice: Notice) -> &Origin {
        &self.origins[&notice]
    }

    fn read(dir: &Path) -> (MailTemplates, Vec<Checked>, Vec<TemplateError>) {
        let mut texts = Notice::ALL.map(|n| (n, n.shipped().to_string(), Origin::BuiltIn));
        let mut problems = Vec::new();
        match edited_files(dir) {
            Ok(files) => {
                for path in files {
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let Some(slot) = texts.iter_mut().find(|(n, ..)| n.file_name() == name) else {
                        problems.push(TemplateError::UnknownFile {
                            path,
                            known: Notice::ALL.map(Notice::file_name).join(", "),
                        });
                        continue;
                    };
                    match std::fs::read_to_string(&path) {
                        Ok(text) => *slot = (slot.0, text, Origin::File(path)),
                        Err(e) => problems.push(TemplateError::Read {
                            path,
                            message: e.to_string(),
                        }),
                    }
                }
            }
            Err(problem) => problems.push(problem),
        }
        let (templates, checked) = MailTemplates::compile(texts);
        (templates, checked, problems)
    }

    fn compile(texts: [(Notice, String, Origin); 11]) -> (MailTemplates, Vec<Checked>) {
        let mut env = environment();
        let mut origins = BTreeMap::new();
        let mut checked = Vec::new();
        for (notice, text, origin) in texts {
            let result = add(&mut env, notice, &text, &origin);
            origins.insert(notice, origin.clone());
            checked.push((notice, origin, result));
        }
        let templates = MailTemplates { env, origins };
        let checked = checked
            .into_iter()
            .map(|(notice, origin, added)| {
                let result = added.and_then(|lines| templates.sample(notice, &origin, lines));
                Checked {
                    notice,
                    origin,
                    result,
                }
            })
            .collect();
        (templates, checked)
    }

    /// Renders both samples of `notice`; returns the first.
    fn sample(
        &self,
        notice: Notice,
        origin: &Origin,
        lines: Lines,
    ) -> Result<Rendered, TemplateError> {
        let invalid = |line: usize, message: String| TemplateError::Invalid {
            file: notice.file_name(),
            origin: origin.clone(),
            line,
            message,
        };
        let allowed = notice.placeholders();
        for (name, first_line) in [
            (notice.subject_name(), lines.subject),
            (notice.body_name(), lines.body),
        ] {
            let template = self.env.get_template(&name).expect("added above");
            let mut unknown: Vec<String> = template
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !allowed.contains(v) && self.env.globals().all(|(g, _)| g != v))
                .collect();
            unknown.sort();
            if let Some(name) = unknown.first() {
                let line = first_line + line_of(template.source(), name).unwrap_or(0);
                return Err(invalid(
                    line,
                    format!(
                        "unknown placeholder `{name}`; {} has {}",
                        notice.file_name(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let mut first = None;
        for context in super::sample::contexts(notice) {
            let rendered = self.render_own(notice, &context).map_err(|(error, body)| {
                let base = if body { lines.body } else { lines.subject };
                invalid(base + error.line().unwrap_or(1) - 1, describe(&error))
            })?;
            first.get_or_insert(rendered);
        }
        Ok(first.expect("two samples"))
    }

    /// Renders `notice` with `context`; a template that fails (an edited one, on a value its
    /// samples did not have) is logged and the shipped one used instead.
    pub(super) fn render(&self, notice: Notice, context: &Value) -> Result<Rendered, NotifyError> {
        match self.render_own(notice, context) {
            Ok(rendered) => Ok(rendered),
            Err((error, _)) if self.origins[&notice] != Origin::BuiltIn => {
                // The error's kind and line only: a message may quote a value.
                tracing::error!(
                    template = %self.origins[&notice],
                    line = error.line().unwrap_or(0),
                    kind = %error.kind(),
                    "an edited mail template failed; the notice used the built-in template"
                );
                BUILT_IN.render(notice, context)
            }
            Err((error, _)) => Err(NotifyError::Template(format!(
                "built-in template {}, line {}: {}",
                notice.file_name(),
                error.line().unwrap_or(0),
                error.kind()
            ))),
        }
    }

    /// Renders subject and body; the error says whether the body failed.
    fn render_own(
        &self,
        notice: Notice,
        context: &Value,
    ) -> Result<Rendered, (minijinja::Error, bool)> {
        let render = |name: String, body: bool| {
            self.env
                .get_template(&name)
                .and_then(|t| t.render(context))
                .map_err(|e| (e, body))
        };
        Ok(Rendered {
            subject: render(notice.subject_name(), false)?,
            body: render(notice.body_name(), true)?,
        })
    }
}

/// The environment every template is compiled in: strict about undefined values, block tags
/// on lines of their own leave no blank line, the file's last newline kept, no escaping.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env
}

/// The `.txt` files of `dir` (none when it does not exist).
fn edited_files(dir: &Path) -> Result<Vec<PathBuf>, TemplateError> {
    let read_error = |e: std::io::Error| TemplateError::Read {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_error(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(read_error)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "txt") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Where subject and body start in the file (1-based lines).
#[derive(Debug, Clone, Copy)]
struct Lines {
    subject: usize,
    body: usize,
}

/// Splits `text` into subject and body and compiles both; the error names the line.
fn add(
    env: &mut Environment<'static>,
    notice: Notice,
    text: &str,
    origin: &Origin,
) -> Result<Lines, TemplateError> {
    let invalid = |line: usize, message: String| TemplateError::Invalid {
        file: notice.file_name(),
        origin: origin.clone(),
        line,
        message,
    };
    let text = text.replace("\r\n", "\n");
    let parts = split(&text).map_err(|(line, message)| invalid(line, message))?;
    let lines = Lines {
        subject: parts.subject_line,
        body: parts.body_line,
    };
    for (name, source, first_line) in [
        (notice.subject_name(), parts.subject, lines.subject),
        (notice.body_name(), parts.body, lines.body),
    ] {
        env.add_template_owned(name, source.to_string())
            .map_err(|e| invalid(first_line + e.line().unwrap_or(1) - 1, describe(&e)))?;
    }
    Ok(lines)
}

/// A template file's parts.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Parts<'a> {
    pub subject: &'a str,
    pub subject_line: usize,
    pub body: &'a str,
    pub body_line: usize,
}

/// Leading `{# … #}` comments and blank lines, then the line `subject: …`, then the body
/// (its leading blank lines dropped).
pub(super) fn split(text: &str) -> Result<Parts<'_>, (usize, String)> {
    let mut rest = text;
    let mut line = 1;
    loop {
        let skipped = rest.len() - rest.trim_start().len();
        line += rest[..skipped].matches('\n').count();
        rest = &rest[skipped..];
        let Some(comment) = rest.strip_prefix("{#") else {
            break;
        };
        let Some(end) = comment.find("#}") else {
            return Err((line, "a comment `{#` is never closed by `#}`".into()));
        };
        line += comment[..end].matches('\n').count();
        rest = &comment[end + 2..];
    }
    let (first, mut body) = rest.split_once('\n').unwrap_or((rest, ""));
    let Some(subject) = first.strip_prefix("subject:") else {
        return Err((
            line,
            "the first line must be `subject: …` (the email's subject), the body follows it".into(),
        ));
    };
    let subject = subject.trim();
    if subject.is_empty() {
        return Err((line, "the subject after `subject:` is empty".into()));
    }
    let mut body_line = line + 1;
    while let Some((blank, after)) = body.split_once('\n')
        && blank.trim().is_empty()
    {
        body = after;
        body_line += 1;
    }
    Ok(Parts {
        subject,
        subject_line: line,
        body,
        body_line,
    })
}

/// The 0-based line of `source` where `name` is first used inside a tag.
pub(super) fn line_of(source: &str, name: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    source.lines().position(|text| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident)
        })
    })
}

/// A minijinja error without its template name and line (the caller gives the file's).
fn describe(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}
