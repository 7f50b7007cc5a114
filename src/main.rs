use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    pg2es::cli::main().await
}
