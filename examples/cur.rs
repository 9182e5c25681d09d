use reconsim::batched::*;
use reconsim::rules::Rules;
fn main() {
    let db = std::env::args().nth(1).unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA cache_size=-262144; PRAGMA mmap_size=4294967296").unwrap();
    let hosts = load_window(&conn, "", 5000, &Rules::default()).unwrap();
    let uuids: Vec<&str> = hosts.iter().map(|h| h.uuid.as_str()).collect();
    for _ in 0..2 {
    let arg = serde_json::to_string(&uuids).unwrap();
    let t = std::time::Instant::now();
    let mut stmt = conn.prepare_cached(CURRENT_ROWS_SQL).unwrap();
    let mut rows = stmt.query([&arg]).unwrap();
    let mut n = 0;
    while let Some(r) = rows.next().unwrap() { let _ = r.get_ref(0).unwrap(); n += 1; }
    drop(rows); drop(stmt);
    eprintln!("step only: {n} rows {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let c = load_current(&conn, &uuids).unwrap();
    eprintln!("load_current: {} hosts {:?}", c.len(), t.elapsed());
    let t = std::time::Instant::now();
    let n: i64 = conn.query_row("SELECT count(*) FROM host_mdm_apple_profiles WHERE host_uuid IN (SELECT value FROM json_each(?1))", [&arg], |r| r.get(0)).unwrap();
    eprintln!("count: {n} {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let n: i64 = conn.query_row("SELECT count(*) FROM (SELECT checksum, status FROM host_mdm_apple_profiles WHERE host_uuid >= ?1 AND host_uuid <= ?2)", [uuids[0], uuids[uuids.len()-1]], |r| r.get(0)).unwrap();
    eprintln!("range count: {n} {:?}", t.elapsed());
    }
}
