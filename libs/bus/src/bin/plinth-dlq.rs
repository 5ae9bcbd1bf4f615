//! `plinth-dlq`: the messages a consumer gave up on (`<topic>.dlq`), listed and
//! replayed (docs/operations.md).
//!
//! - `plinth-dlq list --topic T.dlq` prints each dead letter: partition, offset,
//!   CloudEvents type and id, why it was given up on, where it came from.
//! - `plinth-dlq replay --topic T.dlq --partition P --offset O` sends one back to
//!   the topic it came from, as it was first published.
//!
//! It reaches the brokers with the settings a service reads (`PLINTH_CONFIG`'s
//! `[bus]`, or `PLINTH_BUS__BROKERS`, `PLINTH_BUS__SASL__USERNAME`, …): run it
//! with those of the service that consumes the topic.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use plinth_bus::BusConfig;
use plinth_config::BusSettings;
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(name = "plinth-dlq", about = "List and replay dead-lettered messages")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every dead letter on a topic.
    List {
        /// The dead-letter topic (`<topic>.dlq`).
        #[arg(long)]
        topic: String,
    },
    /// Sends one dead letter back to the topic it came from.
    Replay {
        /// The dead-letter topic (`<topic>.dlq`).
        #[arg(long)]
        topic: String,
        /// Its partition.
        #[arg(long, default_value_t = 0)]
        partition: i32,
        /// Its offset (from `list`).
        #[arg(long)]
        offset: i64,
    },
}

#[derive(Debug, Deserialize)]
struct Settings {
    bus: BusSettings,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings: Settings = match plinth_config::load(serde_json::json!({
        "bus": { "brokers": "127.0.0.1:19092", "topic_prefix": "", "partitions": 1 }
    })) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("plinth-dlq: the settings: {e}");
            return ExitCode::from(2);
        }
    };
    let bus = BusConfig::of(&settings.bus);
    match cli.command {
        Command::List { topic } => {
            match plinth_bus::dlq::read_to_end(&bus, &[topic], Duration::from_secs(120)).await {
                Ok(letters) => {
                    println!("partition\toffset\ttype\tid\treason\torigin");
                    for l in &letters {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            l.partition,
                            l.offset,
                            l.ce_type().unwrap_or_default(),
                            l.ce_id().unwrap_or_default(),
                            l.reason().unwrap_or_default(),
                            l.origin().unwrap_or_default()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("plinth-dlq: reading: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Replay {
            topic,
            partition,
            offset,
        } => match plinth_bus::dlq::replay(&bus, &topic, partition, offset).await {
            Ok(to) => {
                println!("replayed {topic}/{partition}/{offset} to {to}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("plinth-dlq: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
