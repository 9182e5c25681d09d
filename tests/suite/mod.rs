mod conformance;
mod properties;
mod reconcile_cli;
