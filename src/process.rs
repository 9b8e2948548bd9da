//! The exporter's own process, read from /proc/self on every scrape and named as the Go
//! and Python clients name it, so the dashboards and alerts written for them work here.

use std::fmt;
use std::fs;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// Raises the soft limit on open files to the hard limit, as Prometheus and every Go
/// program do at start: the soft limit is often 1024 (or lower, set by a shell or unit),
/// and each connection and report takes a descriptor, so idle clients could otherwise
/// keep out the probes. Returns the soft limit before and after; `None` where the limit
/// cannot be read or set (then it is left as it was).
pub fn raise_open_files_limit() -> Option<(Option<u64>, Option<u64>)> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return Some((limit.current, limit.current));
    }
    let raised = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised).ok()?;
    Some((limit.current, limit.maximum))
}

/// What /proc says about this process; a figure /proc does not give is left out.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: Option<f64>,
    pub resident_memory_bytes: Option<u64>,
    pub virtual_memory_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub start_time_seconds: Option<f64>,
}

/// Clock ticks per second in /proc/<pid>/stat. The kernel reports them in USER_HZ, which
/// is 100 on every Linux architecture Prometheus' own procfs library supports (it, too,
/// takes it as a constant).
const USER_HZ: f64 = 100.0;

impl ProcessStats {
    /// Reads /proc/self; on a system without it (not Linux) every figure is absent.
    pub fn read() -> ProcessStats {
        let mut stats = ProcessStats::default();
        if let Ok(stat) = fs::read_to_string("/proc/self/stat") {
            // The fields after the command name, which is in parentheses and may hold spaces.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
            let field = |n: usize| fields.get(n).and_then(|f| f.parse::<u64>().ok());
            // utime and stime are fields 14 and 15 of stat(5), starttime 22: here 11, 12, 19.
            if let (Some(user), Some(system)) = (field(11), field(12)) {
                stats.cpu_seconds = Some((user + system) as f64 / USER_HZ);
            }
            if let (Some(started), Some(boot)) = (field(19), boot_time()) {
                stats.start_time_seconds = Some(boot as f64 + started as f64 / USER_HZ);
            }
        }
        if let Ok(status) = fs::read_to_string("/proc/self/status") {
            let kib = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                    .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                    .map(|kib| kib * 1024)
            };
            stats.resident_memory_bytes = kib("VmRSS");
            stats.virtual_memory_bytes = kib("VmSize");
        }
        if let Ok(entries) = fs::read_dir("/proc/self/fd") {
            stats.open_fds = Some(entries.count() as u64);
        }
        if let Ok(limits) = fs::read_to_string("/proc/self/limits") {
            // "Max open files            1048576              1048576              files"
            stats.max_fds = limits
                .lines()
                .find_map(|line| line.strip_prefix("Max open files"))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
        }
        stats
    }
}

/// When the system booted, in seconds since the epoch (`btime` in /proc/stat).
fn boot_time() -> Option<u64> {
    fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// Writes the process families, reading /proc when a scrape encodes them.
#[derive(Debug, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let stats = ProcessStats::read();
        if let Some(seconds) = stats.cpu_seconds {
            encoder
                .encode_descriptor(
                    "process_cpu_seconds",
                    "Total user and system CPU time spent in seconds.",
                    None,
                    MetricType::Counter,
                )?
                .encode_counter::<NoLabelSet, _, u64>(&seconds, None)?;
        }
        let gauges: [(&str, &str, Option<u64>); 4] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                stats.resident_memory_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stats.virtual_memory_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                stats.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                stats.max_fds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                encoder
                    .encode_descriptor(name, help, None, MetricType::Gauge)?
                    .encode_gauge(&value)?;
            }
        }
        if let Some(started) = stats.start_time_seconds {
            encoder
                .encode_descriptor(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    None,
                    MetricType::Gauge,
                )?
                .encode_gauge(&started)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read_from_proc() {
        let stats = ProcessStats::read();
        assert!(stats.resident_memory_bytes.unwrap() > 1024 * 1024);
        assert!(stats.virtual_memory_bytes.unwrap() >= stats.resident_memory_bytes.unwrap());
        let open = stats.open_fds.unwrap();
        // Other tests in this process open and close files meanwhile: hold many, and ask
        // only for at least as many as are held.
        let held: Vec<fs::File> = (0..200)
            .map(|_| fs::File::open("/proc/self/stat").unwrap())
            .collect();
        assert!(
            ProcessStats::read().open_fds.unwrap() >= held.len() as u64,
            "the files held are counted"
        );
        assert!(stats.max_fds.unwrap() >= open);
        let now = jiff::Timestamp::now().as_second() as f64;
        let started = stats.start_time_seconds.unwrap();
        assert!(
            started <= now + 1.0 && started > now - crate::model::DAY as f64,
            "{started}"
        );
        assert!(stats.cpu_seconds.unwrap() >= 0.0);
    }
}
