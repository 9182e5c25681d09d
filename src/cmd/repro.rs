//! `reconsim repro NAME|FILE` and `reconsim repro --list`.

use crate::cli::{EXIT_FINDING, EXIT_OK, ReproArgs};
use crate::harness::repro;
use std::io::Write;

pub fn run(args: ReproArgs) -> anyhow::Result<i32> {
    let mut o = std::io::stdout().lock();
    if args.list {
        for (name, text) in repro::CATALOG {
            let s = crate::fleet::scenario::Scenario::parse(
                text,
                &format!("scenarios/bugs/{name}.toml"),
            )?;
            let summary = s.expect.map(|e| e.summary).unwrap_or_default();
            writeln!(o, "{name:<9} {:<7} {summary}", s.run.variant.name())?;
        }
        return Ok(EXIT_OK);
    }
    let name = args.name.unwrap_or_default();
    let (name, scenario) = repro::load(&name)?;
    let conn = repro::fleet(&scenario)?;
    let server = match &args.backend {
        None => None,
        Some(b) => Some(crate::backends::open::load_server(
            b,
            &conn,
            args.force,
            &crate::support::progress::Silent,
        )?),
    };
    let store = server.as_deref().unwrap_or(&conn);
    let mut redis = match &args.cursor {
        Some(url) => Some(crate::backends::rediscursor::RedisCursor::connect(
            url,
            &args.cursor_key,
        )?),
        None => None,
    };
    let cursor = redis
        .as_mut()
        .map(|r| r as &mut dyn crate::paths::cursor::CursorStore);
    let outcome = repro::run_on(&scenario, &conn, store, cursor)?;
    o.write_all(repro::report(&name, &scenario, &outcome).as_bytes())?;
    if let Some(s) = &server {
        writeln!(o, "  backend: {} ({})", s.shown(), s.engine())?;
    }
    if let Some(r) = &redis {
        writeln!(
            o,
            "  cursor: {} key {} ({} failed commands)",
            r.url, r.key, r.errors
        )?;
    }
    Ok(if outcome.reproduced {
        EXIT_OK
    } else {
        EXIT_FINDING
    })
}
