//! `sse-load`: see the library's docs, and `sse-load --help`.

use std::time::Duration;

fn main() {
    let config = match sse_load::Config::from_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            print!("{}", sse_load::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("sse-load: {e}\n\n{}", sse_load::USAGE);
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sse-load: the runtime: {e}");
            std::process::exit(2);
        }
    };
    let json = config.json;
    let report = runtime.block_on(sse_load::run(config));
    runtime.shutdown_timeout(Duration::from_millis(500));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sse-load: {e}");
            std::process::exit(2);
        }
    };
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    // As the earlier kit: no connection at all is a failed run.
    if report.established == 0 {
        std::process::exit(1);
    }
}
