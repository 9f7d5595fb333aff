//! The `watchfloor` command: parses the command line and hands off to one subcommand.
//! Exit codes: 0 when the work completed (problems with the input are reported, not
//! fatal), 1 when it could not be done, 2 for bad arguments.

mod admin;
mod attack_data;
mod bench;
mod bench_detect;
mod bench_serve;
mod bundled;
mod cli;
mod coverage;
mod demo;
mod feed_client;
mod hunt;
mod intel_cli;
mod malloc_arenas;
mod play;
mod quality;
mod range;
mod regression;
mod rules;
mod serve;
mod taxii_client;
mod taxii_poll;
mod web_bench;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    if matches!(
        args.command,
        cli::Command::Serve(_)
            | cli::Command::Demo(_)
            | cli::Command::Bench(cli::BenchCommand::Serve(_))
    ) {
        malloc_arenas::limit_for_server();
    }
    let result = match args.command {
        cli::Command::Hunt(hunt_args) => hunt::HuntConfig::from_args(hunt_args).and_then(hunt::run),
        cli::Command::Demo(args) => demo::run(args),
        cli::Command::Bench(cli::BenchCommand::Decode(args)) => bench::run(args),
        cli::Command::Bench(cli::BenchCommand::Detect(args)) => bench_detect::run(args),
        cli::Command::Bench(cli::BenchCommand::Quality(args)) => quality::run(args),
        cli::Command::Bench(cli::BenchCommand::Serve(args)) => bench_serve::run(args),
        cli::Command::Bench(cli::BenchCommand::Web(args)) => web_bench::run(args),
        cli::Command::Range(command) => range::run(command),
        cli::Command::Admin(command) => admin::run(command),
        cli::Command::Serve(args) => serve::run(args),
        cli::Command::Intel(command) => intel_cli::run(command),
        cli::Command::Rules(cli::RulesCommand::Coverage(args)) => coverage::run(args),
        cli::Command::Rules(cli::RulesCommand::Test(args)) => match regression::run(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        cli::Command::Rules(cli::RulesCommand::Check(args)) => match rules::check(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<cli::UsageError>() => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
