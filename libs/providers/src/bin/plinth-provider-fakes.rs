//! The local provider servers of the dev stack (`make up`): OpenAI's, Azure
//! OpenAI's and Anthropic's wire formats on three ports of 127.0.0.1, taking
//! every key that starts with the accepted prefix as a good key. The providers
//! themselves cannot be reached here; this is what the demo's connections call.
//!
//! Environment: `PLINTH_FAKES_PORTS` (OpenAI, Azure OpenAI, Anthropic:
//! `8191,8192,8193`), `PLINTH_FAKES_ACCEPT` (`sk-demo-`).

use plinth_providers::fake::FakeProviders;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let ports = std::env::var("PLINTH_FAKES_PORTS").unwrap_or_else(|_| "8191,8192,8193".into());
    let ports: Vec<u16> = ports
        .split(',')
        .map(|p| p.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| std::io::Error::other(format!("PLINTH_FAKES_PORTS: {e}")))?;
    let ports: [u16; 3] = ports
        .try_into()
        .map_err(|_| std::io::Error::other("PLINTH_FAKES_PORTS names three ports"))?;
    let accept = std::env::var("PLINTH_FAKES_ACCEPT").unwrap_or_else(|_| "sk-demo-".into());
    let fakes = FakeProviders::start_on(ports, Some(&accept))?;
    println!(
        "local provider servers: OpenAI {}, Azure OpenAI {}, Anthropic {} (keys starting {accept} are good)",
        fakes.openai, fakes.azure, fakes.anthropic
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}
