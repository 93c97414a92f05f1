//! nginx (Debian's package) as the reference reverse proxy for `make bench`: started on a
//! free loopback port in front of the same echo upstream as the gateway, with what a tuned
//! production config would use (upstream keep-alive, no access log), and it adds the headers
//! the gateway adds as Envoy does (`x-forwarded-for`, `x-forwarded-proto`, an `x-request-id`
//! when the client sent none): the upstream gets the same request from both, so the load
//! numbers compare the two proxies and nothing else.

use crate::stack::free_port;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; stopped when dropped.
pub struct Nginx {
    /// `127.0.0.1:<port>` it listens on.
    pub address: String,
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx with `workers` worker processes proxying to `upstream` (`host:port`).
    pub fn start(upstream: &str, workers: usize) -> Result<Nginx, String> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or("nginx is not installed (apt-get install nginx)")?;
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("hgw-bench-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("tmp")).map_err(|e| format!("{}: {e}", dir.display()))?;
        let d = dir.display();
        let config = format!(
            "worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    upstream echo {{ server {upstream}; keepalive 128; }}
    map $http_x_request_id $forwarded_request_id {{ \"\" $request_id; default $http_x_request_id; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $forwarded_request_id;
        }}
    }}
}}
"
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).map_err(|e| format!("{}: {e}", config_path.display()))?;
        let child = Command::new(binary)
            .args(["-p", &d.to_string(), "-e", &format!("{d}/error.log"), "-c"])
            .arg(&config_path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        let nginx = Nginx { address: format!("127.0.0.1:{port}"), child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&nginx.address).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
                return Err(format!("nginx did not listen on {} within 10 s:\n{log}", nginx.address));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(nginx)
    }
}

impl Nginx {
    /// The master process (its workers are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; kill() alone would orphan them.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
