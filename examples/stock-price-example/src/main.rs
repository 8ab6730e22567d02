//! The stock price server: `stock-price-example [--addr 127.0.0.1:8888] [--interval-ms 1000]
//! [--history 300] [--redis URL [--no-ticker]] [--log-format pretty|json]`; `--help` lists the
//! flags, their `STOCK_*` environment variables and defaults.
//!
//! Ctrl-C and SIGTERM both stop the ticker and end every open stream cleanly, then the
//! process exits.

mod args;

use std::process::ExitCode;

use example_ops::Fatal;

#[tokio::main]
async fn main() -> ExitCode {
    example_ops::exit_code(run(args::Args::from_env()).await)
}

async fn run(args: args::Args) -> Result<(), Fatal> {
    let signal = example_ops::start(args.log_format)?;
    let config = args.config();
    let shutdown = config.shutdown.clone();
    let hub = stock_price_example::connect_hub(&config)
        .await
        .map_err(|e| Fatal::caused("cannot start the hub", &e))?;
    let (listener, addr) = example_ops::bind(args.addr).await?;
    if config.ticker {
        stock_price_example::spawn_ticker(hub.clone(), &config);
    }
    let router = stock_price_example::app_with_hub(config, hub.clone());
    tracing::info!("stock prices on http://{addr}/");
    let signal = async move {
        signal.received().await;
        shutdown.cancel();
        hub.close();
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .await
        .map_err(|e| Fatal::new(e.to_string()))?;
    tracing::info!("stopped");
    Ok(())
}
