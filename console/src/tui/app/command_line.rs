//! The `:` command line: `:run update`, `:pause official`, `:service restart web`, `:logs`,
//! `:q`. Parsing only; the result goes through the same gate as a key's command, so read-only
//! and confirmation rules cannot be bypassed by typing.

use supersetd_proto::{JobName, RunId, ServiceAction, ServiceName};

use crate::tui::msg::Command;

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Command(Command),
    /// Show the view with this title.
    Focus(&'static str),
    Help,
    Quit,
}

/// The words a view is known by on the command line.
const VIEWS: &[(&str, &str)] = &[
    ("overview", "Overview"),
    ("jobs", "Jobs"),
    ("logs", "Logs"),
    ("runs", "Runs"),
    ("subscribers", "Subscribers"),
    ("deliveries", "Deliveries"),
    ("audit", "Audit"),
];

pub const USAGE: &str = "commands: run|pause|resume|cancel JOB, follow [RUN_ID], service start|stop|restart bot|web|scheduler, overview|jobs|runs|logs|subscribers|deliveries|audit, help, quit";

/// Parse one line (without the `:`). Errors are for the footer.
pub fn parse(line: &str) -> Result<Parsed, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let job = |w: &[&str]| match w {
        [name] => Ok(JobName::from(*name)),
        _ => Err(format!("{} needs one job name", words[0])),
    };
    match words.as_slice() {
        [] => Err(USAGE.to_owned()),
        ["q" | "quit"] => Ok(Parsed::Quit),
        ["help" | "h"] => Ok(Parsed::Help),
        ["run", rest @ ..] => Ok(Parsed::Command(Command::RunJob(job(rest)?))),
        ["pause", rest @ ..] => Ok(Parsed::Command(Command::PauseJob(job(rest)?))),
        ["resume", rest @ ..] => Ok(Parsed::Command(Command::ResumeJob(job(rest)?))),
        ["cancel", rest @ ..] => {
            let job = job(rest)?;
            Ok(Parsed::Command(Command::Confirm {
                prompt: format!("cancel the active run of job {job}?"),
                command: Box::new(Command::CancelJob(job)),
            }))
        }
        ["service", action, name] => service(action, name),
        ["follow"] => Ok(Parsed::Command(Command::FollowRun(None))),
        ["follow", run] => run
            .trim_start_matches('#')
            .parse()
            .map(|id| Parsed::Command(Command::FollowRun(Some(RunId(id)))))
            .map_err(|_| format!("{run:?} is not a run id")),
        [word] => VIEWS
            .iter()
            .find(|(w, _)| w == word)
            .map(|(_, title)| Parsed::Focus(title))
            .ok_or_else(|| format!("unknown command {word:?}; {USAGE}")),
        [word, ..] => Err(format!("unknown command {word:?}; {USAGE}")),
    }
}

fn service(action: &str, name: &str) -> Result<Parsed, String> {
    let name: ServiceName = name.parse()?;
    let action = match action {
        "start" => ServiceAction::Start,
        "stop" => ServiceAction::Stop,
        "restart" => ServiceAction::Restart,
        other => {
            return Err(format!(
                "unknown service action {other:?} (start, stop or restart)"
            ));
        }
    };
    let command = Command::Service(name, action);
    // Stopping or restarting a service interrupts students; starting one does not.
    Ok(Parsed::Command(match action {
        ServiceAction::Start => command,
        _ => Command::Confirm {
            prompt: format!("{action} the {name} service?"),
            command: Box::new(command),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_services_views_and_mistakes() {
        assert_eq!(
            parse("run update"),
            Ok(Parsed::Command(Command::RunJob("update".into())))
        );
        assert_eq!(
            parse(" pause  official "),
            Ok(Parsed::Command(Command::PauseJob("official".into())))
        );
        assert!(matches!(
            parse("cancel update"),
            Ok(Parsed::Command(Command::Confirm { .. }))
        ));
        assert_eq!(
            parse("service start web"),
            Ok(Parsed::Command(Command::Service(
                ServiceName::Web,
                ServiceAction::Start
            )))
        );
        assert!(matches!(
            parse("service stop bot"),
            Ok(Parsed::Command(Command::Confirm { .. }))
        ));
        assert_eq!(parse("logs"), Ok(Parsed::Focus("Logs")));
        assert_eq!(parse("q"), Ok(Parsed::Quit));
        assert_eq!(
            parse("follow #42"),
            Ok(Parsed::Command(Command::FollowRun(Some(RunId(42)))))
        );
        assert_eq!(
            parse("follow"),
            Ok(Parsed::Command(Command::FollowRun(None)))
        );
        assert!(parse("follow x").is_err());
        assert!(parse("run").unwrap_err().contains("one job name"));
        assert!(
            parse("service stop mail")
                .unwrap_err()
                .contains("unknown service")
        );
        assert!(parse("frobnicate").unwrap_err().contains("commands:"));
        assert!(parse("").is_err());
    }
}
