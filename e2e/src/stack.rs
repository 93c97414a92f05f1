//! The local stack: Redis, the echo upstream, the LLM mock, the authorization service
//! ext-auth asks and the gateway (`hgw`), each a child process on a loopback port, logging to
//! its own file. Everything is stopped when the
//! [`Stack`] is dropped, on success and on failure alike.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What to start.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Directory of `hgw`, `echo-server`, `llm-mock` and `auth-server` (the cargo target
    /// directory).
    pub bin_dir: PathBuf,
    /// The gateway configuration (`e2e/config`).
    pub config: PathBuf,
    /// Where the gateway listens; `None` picks a free loopback port.
    pub gateway: Option<SocketAddr>,
    /// Where the logs go (created).
    pub log_dir: PathBuf,
    /// Pause between the LLM mock's streamed chunks.
    pub llm_chunk_delay_ms: u64,
    /// Gateway worker threads.
    pub workers: usize,
    /// Write the gateway's access log (`<log_dir>/access.log`).
    pub access_log: bool,
}

/// The running stack.
pub struct Stack {
    /// Shared with the signal watcher ([`Stack::stop_on_signals`]).
    children: Children,
    /// `127.0.0.1:<port>` of the gateway.
    pub gateway: String,
    /// `127.0.0.1:<port>` of the gateway's admin listener (Prometheus metrics).
    pub admin: String,
    /// Echo upstream address.
    pub echo: String,
    /// LLM mock address.
    pub llm: String,
    /// Redis address.
    pub redis: String,
    /// Address of the authorization service (`auth.static`, for ext-auth).
    pub auth: String,
    /// Where each process logs (`<name>.log`, and `access.log` for the gateway).
    pub log_dir: PathBuf,
}

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

impl Stack {
    /// Starts everything and waits until every process accepts connections.
    pub fn start(options: &StackOptions) -> Result<Stack, String> {
        std::fs::create_dir_all(&options.log_dir).map_err(|e| format!("{}: {e}", options.log_dir.display()))?;
        let address = |port: u16| format!("127.0.0.1:{port}");
        let mut stack = Stack {
            children: Children::default(),
            gateway: String::new(),
            admin: address(free_port()?),
            echo: address(free_port()?),
            llm: address(free_port()?),
            redis: address(free_port()?),
            auth: address(free_port()?),
            log_dir: options.log_dir.clone(),
        };
        let redis_server = find_program("redis-server")
            .ok_or("redis-server is not installed: run `make setup` (apt-get install redis-server)")?;
        let redis_port = stack.redis.rsplit(':').next().unwrap_or_default().to_string();
        let mut redis = Command::new(redis_server);
        redis.args(["--port", &redis_port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        stack.spawn("redis", redis, &stack.redis.clone())?;

        let mut echo = Command::new(options.bin_dir.join("echo-server"));
        echo.args(["--listen", &stack.echo]);
        stack.spawn("echo", echo, &stack.echo.clone())?;

        let mut llm = Command::new(options.bin_dir.join("llm-mock"));
        llm.args(["--listen", &stack.llm, "--chunk-delay-ms", &options.llm_chunk_delay_ms.to_string()]);
        stack.spawn("llm-mock", llm, &stack.llm.clone())?;

        let mut auth = Command::new(options.bin_dir.join("auth-server"));
        auth.args(["--listen", &stack.auth]);
        stack.spawn("auth", auth, &stack.auth.clone())?;

        let listen = match options.gateway {
            Some(address) => address.to_string(),
            None => address(free_port()?),
        };
        // The admin listener is bound before the gateway's: listening means both are up.
        let admin = stack.admin.clone();
        stack.gateway = stack.add_gateway("hgw", &options.config, &listen, Some(&admin), options)?;
        Ok(stack)
    }

    /// Starts a gateway named `name` (its log is `<name>.log`) with `config`, on `listen`
    /// (and its admin listener on `admin`), in front of this stack's upstreams; returns its
    /// address.
    pub fn add_gateway(
        &mut self,
        name: &str,
        config: &Path,
        listen: &str,
        admin: Option<&str>,
        options: &StackOptions,
    ) -> Result<String, String> {
        let mut gateway = Command::new(options.bin_dir.join("hgw"));
        gateway
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", listen, "--workers", &options.workers.to_string()])
            .args(admin.map(|a| ["--admin-listen", a]).into_iter().flatten())
            .arg("--access-log")
            .arg(if options.access_log {
                options.log_dir.join(format!("{name}-access.log"))
            } else {
                PathBuf::from("off")
            })
            .env("ECHO_ADDRESS", &self.echo)
            .env("LLM_ADDRESS", &self.llm)
            .env("REDIS_ADDRESS", &self.redis)
            .env("AUTH_ADDRESS", &self.auth);
        self.spawn(name, gateway, listen)?;
        Ok(listen.to_string())
    }

    fn spawn(&mut self, name: &str, mut command: Command, address: &str) -> Result<(), String> {
        let log_path = self.log_dir.join(format!("{name}.log"));
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start {name} ({program}): {e} (did `make e2e-local` build it?)"))?;
        self.children.lock().push((name.to_string(), child));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect(address).is_ok() {
                return Ok(());
            }
            if let Some((_, child)) = self.children.lock().last_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "{name} exited ({status}) before listening on {address}:\n{}",
                        tail(&log_path, 20)
                    ));
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{name} did not listen on {address} within {START_TIMEOUT:?}:\n{}",
                    tail(&log_path, 20)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id of `name` (`hgw`, `echo`, `llm-mock`, `auth`, `redis`).
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.children.lock().iter().find(|(n, _)| n == name).map(|(_, c)| c.id())
    }

    /// `Err` naming any process that has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        for (name, child) in self.children.lock().iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "{name} exited ({status}); see {}",
                    self.log_dir.join(format!("{name}.log")).display()
                ));
            }
        }
        Ok(())
    }
}

impl Stack {
    /// Stops everything the stack started when this process gets SIGINT, SIGTERM or SIGHUP
    /// (Ctrl-C, `kill`, `timeout`, a closed terminal), then exits: no orphaned Redis or
    /// gateway is left holding ports.
    pub fn stop_on_signals(&self) {
        let children = self.children.clone();
        std::thread::spawn(move || {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            let code = runtime.block_on(async {
                let (Ok(mut int), Ok(mut term), Ok(mut hup)) =
                    (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
                else {
                    return None;
                };
                tokio::select! {
                    _ = int.recv() => Some(130),
                    _ = term.recv() => Some(143),
                    _ = hup.recv() => Some(129),
                }
            });
            if let Some(code) = code {
                println!("\nstopping");
                children.stop_all();
                std::process::exit(code);
            }
        });
    }
}

/// The processes a stack started, newest last.
#[derive(Clone, Default)]
struct Children(std::sync::Arc<std::sync::Mutex<Vec<(String, Child)>>>);

impl Children {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Child)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Kills them, newest first (the gateway before the services it uses).
    fn stop_all(&self) {
        for (_, child) in self.lock().iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.children.stop_all();
    }
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all.iter().skip(all.len().saturating_sub(lines)).copied().collect::<Vec<_>>().join("\n")
}
