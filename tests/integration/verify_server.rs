//! A stand-in for PostHog's API on 127.0.0.1, for the `--verify` and
//! `--revoke` tests (these machines reach no host outside the package
//! registries): a listener per region, each answering as the test says,
//! and recording every request it gets (method, path, headers, body, when).

use std::{
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// One request the stand-in got.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The key of `Authorization: Bearer KEY`, or of a `{"token": KEY}`
    /// body.
    pub fn key(&self) -> Option<String> {
        if let Some(bearer) = self.header("authorization") {
            return bearer.strip_prefix("Bearer ").map(str::to_string);
        }
        let body: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        body["token"].as_str().map(str::to_string)
    }
}

/// What to answer: a status, headers, a body, after a delay.
#[derive(Clone, Debug, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, ..Reply::default() }
    }

    pub fn json(status: u16, body: &str) -> Reply {
        let headers = vec![("Content-Type".into(), "application/json".into())];
        Reply { status, headers, body: body.into(), ..Reply::default() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// How a stand-in answers a request: given it and the requests before it
/// (itself included).
pub type Answer = dyn Fn(&Request, &[Request]) -> Reply + Send + Sync;

/// A stand-in listening on 127.0.0.1, its requests recorded.
pub struct Server {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Starts a stand-in that answers with `answer`, one thread per
    /// connection, for the rest of the test process.
    pub fn start(answer: impl Fn(&Request, &[Request]) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let record = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (record, answer) = (Arc::clone(&record), Arc::clone(&answer));
                std::thread::spawn(move || serve(stream, &record, &*answer));
            }
        });
        Server { port, requests }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads requests from `stream` and answers each, until it closes.
fn serve(stream: TcpStream, record: &Mutex<Vec<Request>>, answer: &Answer) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    while let Some(request) = read_request(&mut reader) {
        let seen = {
            let mut all = record.lock().unwrap();
            all.push(request.clone());
            all.clone()
        };
        let reply = answer(&request, &seen);
        std::thread::sleep(reply.delay);
        let mut head = format!("HTTP/1.1 {} Stand-in\r\n", reply.status);
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
        let sent =
            out.write_all(head.as_bytes()).and_then(|()| out.write_all(reply.body.as_bytes()));
        if sent.is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 request, or `None` at the end of the connection.
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let at = Instant::now();
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, headers, body, at })
}

/// The real binary with `args`, no proxy in its environment; returns
/// (status, stdout, stderr).
pub fn phx(args: &[String]) -> (i32, String, String) {
    let out = crate::common::cmd()
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap(), text(out.stdout), text(out.stderr))
}

/// Asserts that no key of `keys` is in `text` (`what` names it).
pub fn assert_no_key(keys: &[String], text: &str, what: &str) {
    for key in keys {
        assert!(!text.contains(key.as_str()), "a key in {what}: {text}");
    }
}

/// Asserts that no request holds a key in its path or query, and none has
/// anything but `/api/...` as its target.
pub fn assert_no_key_in_urls(keys: &[String], requests: &[Request]) {
    for request in requests {
        assert!(request.path.starts_with("/api/"), "{}", request.path);
        assert_no_key(keys, &request.path, "a URL");
    }
}
