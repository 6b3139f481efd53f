//! The shared harness of the CLI integration tests: the real `ingot server` started on a free
//! port (its announced URL read from stdout), and the real CLI run against it.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The `ingot` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ingot");

/// A running `ingot server` child process.
pub struct Server {
    child: Child,
    pub url: String,
    pub home: PathBuf,
}

impl Server {
    /// Starts `ingot server --port 0` and reads the URL it announces.
    pub fn start(home: &Path) -> Server {
        Server::start_with(home, &[])
    }

    /// Starts `ingot server --port 0` with more server flags.
    pub fn start_with(home: &Path, flags: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["server", "--port", "0"])
            .args(flags)
            .arg("--home")
            .arg(home)
            .env("INGOT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ingot server");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Ingot server listening on ") {
                    let _ = sender.send(url.trim().to_string());
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("server announced its URL");
        Server {
            child,
            url,
            home: home.to_path_buf(),
        }
    }

    /// Runs the CLI against this server (token from the home's admin-token file).
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("INGOT_SERVER", &self.url)
            .env("INGOT_HOME", &self.home)
            .env_remove("INGOT_TOKEN")
            .env("INGOT_LOG", "warn")
            .output()
            .expect("run ingot")
    }

    /// Runs the CLI and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.cli(args);
        assert!(
            output.status.success(),
            "ingot {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs the CLI with `--output json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.extend(["--output", "json"]);
        let stdout = self.ok(&with_json);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// SIGKILL, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rows` rows of the small `x,colour,y` classification set the serving tests train on.
pub fn shapes_csv(rows: usize) -> String {
    let mut csv = String::from("x,colour,y\n");
    for i in 0..rows {
        let x = (i as f64 * 0.37).sin() * 3.0;
        let colour = ["red", "green", "blue"][i % 3];
        let y = i64::from(x + if colour == "red" { 1.0 } else { -0.5 } > 0.0);
        csv.push_str(&format!("{x},{colour},{y}\n"));
    }
    csv
}

impl Server {
    /// Writes 300 rows of [`shapes_csv`] to `HOME/shapes.csv`, uploads them as dataset `shapes`, and trains the linear learner
    /// on it as model `model`, waiting for the job.
    pub fn train_shapes(&self, model: &str) {
        self.upload_shapes();
        self.train_on_shapes(model, &[]);
    }

    /// Writes 300 rows of [`shapes_csv`] to `HOME/shapes.csv` and uploads them as dataset
    /// `shapes`.
    pub fn upload_shapes(&self) {
        let data = self.home.join("shapes.csv");
        std::fs::write(&data, shapes_csv(300)).unwrap();
        self.ok(&[
            "dataset",
            "create",
            "shapes",
            "--file",
            data.to_str().unwrap(),
        ]);
    }

    /// Trains the linear learner on dataset `shapes` (with `more` flags, e.g. `--hp l2=5`) as
    /// the next version of model `model`, waiting for the job.
    pub fn train_on_shapes(&self, model: &str, more: &[&str]) {
        let mut args = vec![
            "train",
            "--dataset",
            "shapes",
            "--target",
            "y",
            "--algorithm",
            "linear-learner",
            "--model",
            model,
            "--wait",
        ];
        args.extend_from_slice(more);
        self.ok(&args);
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The ids of the server's `ingot replica` children.
    pub fn replica_pids(&self) -> Vec<u32> {
        let parent = self.pid().to_string();
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // `pid (comm) state ppid ...`: the fields after the last ')'.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let ppid = after.split_whitespace().nth(1);
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let is_replica = cmdline.split(|b| *b == 0).nth(1) == Some(b"replica".as_slice());
            if ppid == Some(parent.as_str()) && is_replica {
                pids.push(pid);
            }
        }
        pids
    }

    /// The admin token the server wrote into its home.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.home.join("admin-token"))
            .unwrap()
            .trim()
            .to_string()
    }
}

/// Runs `future` to completion on a thread of its own with a fresh current-thread runtime (the
/// CLI tests are synchronous; their HTTP calls use the async `reqwest` client).
pub fn block_on<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    })
    .join()
    .unwrap()
}
