use std::time::Instant;
fn main() {
    let t = Instant::now();
    let sel = stripe_mcp::server::ToolSelection::All;
    let a = t.elapsed();
    let tools = stripe_mcp::StripeMcp::listed_tools(&sel, false, true, false).unwrap();
    let b = t.elapsed();
    let tools2 = stripe_mcp::StripeMcp::listed_tools(&sel, false, true, false).unwrap();
    let c = t.elapsed();
    let s = serde_json::to_string(&tools).unwrap();
    let d = t.elapsed();
    eprintln!(
        "{a:?} first listing {:?} second {:?} serialize {:?} n={} bytes={}",
        b - a,
        c - b,
        d - c,
        tools2.len(),
        s.len()
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    for l in status
        .lines()
        .filter(|l| l.starts_with("Vm") || l.starts_with("Rss"))
    {
        eprintln!("{l}");
    }
}
