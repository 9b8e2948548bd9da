//! inotify out of instances: the exporter warns and falls back to polling instead of
//! exiting. Its own test binary, because it starves every watcher of the user it runs as.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{open_to_everyone, report_with_users, unprivileged, Exporter};

#[test]
fn out_of_inotify_instances_falls_back_to_polling() {
    let limit: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_instances")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // A process of the exporter's user takes every inotify instance that user may have
    // (Debian's python3: a pyenv under /root is out of reach for nobody).
    let launcher = unprivileged();
    let hog_script = format!(
        "import ctypes, sys, time\nlibc = ctypes.CDLL(None)\nfds = [libc.inotify_init1(0) for _ in range({limit})]\nprint(sum(fd >= 0 for fd in fds), flush=True)\ntime.sleep(120)\n"
    );
    let mut hog = match launcher.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg("/usr/bin/python3");
            command
        }
        None => Command::new("/usr/bin/python3"),
    }
    .args(["-c", &hog_script])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut taken = String::new();
    BufReader::new(hog.stdout.take().unwrap())
        .read_line(&mut taken)
        .unwrap();
    assert!(
        taken.trim().parse::<usize>().unwrap() > 0,
        "the hog took no instance"
    );

    let dir = tempfile::tempdir().unwrap();
    open_to_everyone(dir.path());
    std::fs::write(dir.path().join("acme.csv"), report_with_users(2)).unwrap();
    let exporter = Exporter::start_unprivileged(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_users{report=\"acme\",user_type=\"sub_user\"} 2");
    assert!(
        exporter.logs().contains("polling instead"),
        "{}",
        exporter.logs()
    );

    // No events can arrive: the change is found by the fallback poll (every 5 s).
    std::fs::write(dir.path().join("acme.csv"), report_with_users(6)).unwrap();
    exporter.wait_for_sample("credential_report_users{report=\"acme\",user_type=\"sub_user\"} 6");
    assert_eq!(exporter.status("/-/healthy"), 200);
    let _ = hog.kill();
    let _ = hog.wait();
}
