//! The memory of child processes: their resident size read from `/proc/<pid>/status`, the
//! watch that reports a child grown past its limit (the caller then kills it), and the
//! out-of-memory score children take so the kernel picks them before the server.

use std::time::Duration;

/// How often a watched child's resident size is read. A leak faster than the limit's headroom
/// per interval can overshoot it by that much before the child is stopped.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// What a child adds to its out-of-memory score (`oom_score_adj`, −1000…1000): when the
/// machine runs out of memory the kernel ends a replica or a transform worker, not the server
/// that holds the acknowledged work.
const CHILD_OOM_SCORE_ADJ: &str = "500";

const MIB: u64 = 1024 * 1024;

/// `mib` MiB in bytes (saturating).
pub fn mib_to_bytes(mib: u64) -> u64 {
    mib.saturating_mul(MIB)
}

/// The resident set size of process `pid` in bytes, or `None` when it cannot be read (the
/// process is gone, or there is no `/proc`).
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// This process's peak resident set size in bytes (`VmHWM`): a child reports it when it is
/// done, so a limit is held even when the child finished between two of the parent's reads.
pub fn own_peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib_field(&status, "VmHWM:")
}

/// `VmRSS` of a `/proc/<pid>/status` text, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    parse_kib_field(status, "VmRSS:")
}

fn parse_kib_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(field))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The words for a child whose reported peak passed `limit_bytes` after it finished.
pub fn peak_over(peak: u64, limit_bytes: u64) -> Option<String> {
    (peak > limit_bytes).then(|| {
        format!(
            "exceeded its memory limit of {} MiB (peak resident {} MiB), so its output was \
             discarded",
            limit_bytes.div_ceil(MIB),
            peak.div_ceil(MIB)
        )
    })
}

/// Resolves with the child's resident size once it is above `limit_bytes`; never resolves
/// while it stays below, or when its size cannot be read (the caller also waits for its exit).
pub async fn exceeded(pid: u32, limit_bytes: u64) -> u64 {
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(resident) = resident_bytes(pid) {
            if resident > limit_bytes {
                return resident;
            }
        }
    }
}

/// [`exceeded`] when there is a limit, resolving with [`over_limit`]'s words; pending forever
/// when there is none.
pub async fn exceeded_if(pid: u32, limit_bytes: Option<u64>) -> String {
    match limit_bytes {
        Some(limit) => over_limit(exceeded(pid, limit).await, limit),
        None => std::future::pending().await,
    }
}

/// [`over_limit`]'s words if process `pid` is above `limit_bytes` now.
pub fn over_now(pid: u32, limit_bytes: u64) -> Option<String> {
    resident_bytes(pid)
        .filter(|resident| *resident > limit_bytes)
        .map(|resident| over_limit(resident, limit_bytes))
}

/// Why a child was stopped for its memory, in words users act on.
fn over_limit(resident: u64, limit_bytes: u64) -> String {
    format!(
        "exceeded its memory limit of {} MiB (resident {} MiB) and was stopped",
        limit_bytes.div_ceil(MIB),
        resident.div_ceil(MIB)
    )
}

/// Called first thing in a child: raise this process's out-of-memory score (best effort;
/// raising needs no privilege).
pub fn mark_as_child() {
    if let Err(e) = std::fs::write("/proc/self/oom_score_adj", CHILD_OOM_SCORE_ADJ) {
        tracing::debug!("cannot raise the child's oom_score_adj: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tingot\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(12345 * 1024));
        assert_eq!(parse_vm_rss("Name:\tkthreadd\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_and_a_dead_pid_has_none() {
        let mine = resident_bytes(std::process::id()).unwrap();
        assert!(mine > MIB, "{mine}");
        // Above the kernel's largest pid.
        assert_eq!(resident_bytes(u32::MAX - 1), None);
    }

    #[test]
    fn the_message_names_the_limit_and_the_size_in_mib() {
        assert_eq!(
            over_limit(300 * MIB + 1, 256 * MIB),
            "exceeded its memory limit of 256 MiB (resident 301 MiB) and was stopped"
        );
    }

    #[tokio::test]
    async fn a_growing_child_is_reported_once_past_its_limit_and_a_small_one_never() {
        // `tail` keeps the last line of /dev/zero, which never ends: it grows without bound.
        let mut growing = tokio::process::Command::new("tail")
            .arg("/dev/zero")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = growing.id().unwrap();
        let limit = 64 * MIB;
        let resident = tokio::time::timeout(Duration::from_secs(30), exceeded(pid, limit))
            .await
            .expect("the growing child is reported");
        assert!(resident > limit, "{resident}");
        growing.kill().await.unwrap();

        let mut small = tokio::process::Command::new("sleep")
            .arg("5")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = small.id().unwrap();
        let watched = tokio::time::timeout(Duration::from_millis(500), exceeded(pid, 64 * MIB));
        assert!(watched.await.is_err(), "a small child stays under 64 MiB");
        let unlimited = tokio::time::timeout(Duration::from_millis(300), exceeded_if(pid, None));
        assert!(unlimited.await.is_err());
        small.kill().await.unwrap();
    }

    #[test]
    fn a_reported_peak_is_held_against_the_limit() {
        let resident = resident_bytes(std::process::id()).unwrap_or(0);
        let peak = own_peak_bytes().expect("this process has a VmHWM");
        assert!(peak >= resident, "peak {peak} below resident {resident}");
        assert_eq!(peak_over(peak, peak), None);
        let words = peak_over(peak, MIB).unwrap();
        assert!(
            words.starts_with("exceeded its memory limit of 1 MiB (peak resident ")
                && words.ends_with("so its output was discarded"),
            "{words}"
        );
    }
}
