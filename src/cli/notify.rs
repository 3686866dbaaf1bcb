//! `notify templates check`: after editing an email template, see where each notice's template
//! comes from (built in, or the file in `notify.templates_dir`) and a sample of each rendered,
//! or the file and line of what is wrong (the same check `serve` makes before it starts).

use clap::Subcommand;

use crate::config::Config;
use crate::notify::templates::MailTemplates;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// The email templates.
    #[command(subcommand)]
    Templates(TemplatesCommand),
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Check every template (built in or edited) and print a sample of each; exits non-zero
    /// naming the file and line of each problem.
    Check,
}

pub fn run(config: &Config, command: NotifyCommand) -> anyhow::Result<()> {
    let NotifyCommand::Templates(TemplatesCommand::Check) = command;
    let dir = &config.notify.templates_dir;
    if dir.is_dir() {
        println!(
            "templates: {} (a file there replaces the built-in template of its name)\n",
            dir.display()
        );
    } else {
        println!(
            "templates: {} does not exist: every notice uses its built-in template\n",
            dir.display()
        );
    }
    let (checked, problems) = MailTemplates::check(dir);
    let mut failed = problems.len();
    for c in &checked {
        println!("== {} ({})", c.notice.file_name(), c.origin);
        println!("placeholders: {}", c.notice.placeholders().join(", "));
        match &c.result {
            Ok(sample) => {
                println!("sample subject: {}", sample.subject);
                println!("sample body:");
                for line in sample.body.lines() {
                    println!("  | {line}");
                }
            }
            Err(error) => {
                failed += 1;
                println!("ERROR: {error}");
            }
        }
        println!();
    }
    for problem in &problems {
        println!("ERROR: {problem}");
    }
    if failed > 0 {
        for problem in problems
            .iter()
            .chain(checked.iter().filter_map(|c| c.result.as_ref().err()))
        {
            eprintln!("error: {problem}");
        }
        anyhow::bail!(
            "{failed} problem(s) in the email templates: `serve` would not start; fix them and \
             run the check again"
        );
    }
    println!("{} templates checked: all render", checked.len());
    Ok(())
}
