//! `post-updates`: the publishing driver of the hub's load runs; see
//! [`sse_load::post`].

use sse_load::post::{PostConfig, post};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match PostConfig::from_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match post(&config).await {
        Ok(report) if config.json => println!("{}", report.to_json()),
        Ok(report) => println!("{report}"),
        Err(error) => {
            eprintln!("post-updates: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
