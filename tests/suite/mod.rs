mod architecture;
mod backends;
mod conformance;
mod loadtest_cli;
mod properties;
mod reconcile_cli;
mod repro_cli;
mod safety_cli;
