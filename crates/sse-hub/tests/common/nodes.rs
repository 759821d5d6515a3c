//! Hubs on Redis: `sse-hub` processes (nodes that a test can kill) and
//! hubs served in the test process, requests to any hub by its URL, and the
//! stream of a Redis key read back in its order.

use super::{Events, PUBLISHER_SECRET, SUBSCRIBER_SECRET, client};
use futures_util::StreamExt;
use sse_hub::{
    Hub, HubConfig,
    auth::{Algorithm, Key, Keys},
};
use sse_redis::{Redis, Retention};
use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, ChildStdout, Command, Stdio},
    time::Duration,
};

/// The hub's path.
pub const PATH: &str = "/.well-known/mercure";

/// A child process, killed (`SIGKILL`) and reaped when dropped, so that
/// a failed test leaves none behind.
pub struct Running(pub Child);

impl Running {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `command` (an `sse-hub`, logging warnings only) and reads what
/// it prints up to its `listening on` line, the last of the lines
/// returned.
pub fn spawn(mut command: Command) -> (Running, Vec<String>, BufReader<ChildStdout>) {
    let mut child = Running(
        command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the hub ended before listening: {lines:?}"
        );
        let done = line.starts_with("listening on ");
        lines.push(line.trim_end().to_owned());
        if done {
            return (child, lines, stdout);
        }
    }
}

/// An `sse-hub` process on Redis, with the test's keys; killed when
/// dropped.
pub struct Node {
    child: Running,
    addr: SocketAddr,
    // Held open: the process may print again, and a closed pipe would make
    // its print fail.
    _stdout: BufReader<ChildStdout>,
}

impl Node {
    /// A node on the stream `key` of the Redis at `redis_url`, keeping
    /// about `history` updates, with `args` besides.
    pub fn start(redis_url: &str, key: &str, history: usize, args: &[&str]) -> Node {
        let history = history.to_string();
        let mut command = Command::new(env!("CARGO_BIN_EXE_sse-hub"));
        command
            .args(["--addr", "127.0.0.1:0", "--redis", redis_url])
            .args(["--redis-key", key, "--history", &history])
            .args(args)
            .env("MERCURE_PUBLISHER_JWT_KEY", PUBLISHER_SECRET)
            .env("MERCURE_SUBSCRIBER_JWT_KEY", SUBSCRIBER_SECRET);
        let (child, printed, stdout) = spawn(command);
        let listening = printed.last().expect("the listening line");
        let url = listening.strip_prefix("listening on http://").unwrap();
        let addr = url.strip_suffix(PATH).unwrap().parse().unwrap();
        Node {
            child,
            addr,
            _stdout: stdout,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// Kills the process at once (`SIGKILL`), as a crash does, and reaps
    /// it.
    pub fn kill(&mut self) {
        self.child.kill();
    }
}

/// A hub on Redis served in the test process with `axum::serve`.
pub struct ServedRedis {
    pub hub: Hub<Redis>,
    pub addr: SocketAddr,
}

impl ServedRedis {
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }
}

/// The test's keys, as the nodes have them.
pub fn keys() -> Keys {
    Keys::new(
        Key::new(Algorithm::Hs256, PUBLISHER_SECRET).unwrap(),
        Key::new(Algorithm::Hs256, SUBSCRIBER_SECRET).unwrap(),
    )
}

/// A hub on the stream `key` of the Redis at `redis_url`, keeping
/// `retention`, served on 127.0.0.1.
pub async fn serve_redis(
    config: HubConfig,
    redis_url: &str,
    key: &str,
    retention: Retention,
) -> ServedRedis {
    let redis = Redis::builder(redis_url)
        .key(key)
        .retention(retention)
        .build()
        .await
        .unwrap();
    serve_on(config, redis).await
}

/// A hub on `redis`, served on 127.0.0.1.
pub async fn serve_on(config: HubConfig, redis: Redis) -> ServedRedis {
    let hub = Hub::new(redis, keys(), config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    ServedRedis { hub, addr }
}

/// A client that keeps its connections, for many publishes in a row.
pub fn pooled_client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// POSTs `form` to the hub at `url` with `client` and the publisher token
/// `token`, checks the answer (200, text/plain) and returns the ID.
pub async fn publish_to(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    form: &[(&str, &str)],
) -> String {
    try_publish_to(client, url, token, form)
        .await
        .expect("an answer")
}

/// POSTs `form` to the hub at `url` with `client` and the publisher token
/// `token`: the response, or why none came.
pub async fn post_to(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    form: &[(&str, &str)],
) -> reqwest::Result<reqwest::Response> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
}

/// As [`publish_to`], but `None` when no answer came (the connection
/// failed: the update may or may not have been published).
pub async fn try_publish_to(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    form: &[(&str, &str)],
) -> Option<String> {
    let response = post_to(client, url, token, form).await.ok()?;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    response.text().await.ok()
}

/// Opens a subscription to the hub at `url` with the query `query`, an
/// optional token and an optional `Last-Event-ID` header.
pub async fn open_at(
    url: &str,
    query: &str,
    token: Option<&str>,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut request = client().get(format!("{url}?{query}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.unwrap()
}

/// The `Last-Event-ID` header of a subscription's response.
pub fn position(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("last-event-id")
        .map(|value| value.to_str().unwrap())
}

impl Events {
    /// The next event within 10 s, or `None` when the stream ends (its
    /// connection was cut, or the hub ended it).
    pub async fn next_or_end(&mut self) -> Option<sse_codec::Event> {
        tokio::time::timeout(Duration::from_secs(10), self.0.next())
            .await
            .expect("an event or the end within 10 s")
    }

    /// The data and ID of the next `n` events, within `within` for all.
    pub async fn data_and_ids(&mut self, n: usize, within: Duration) -> Vec<(String, String)> {
        tokio::time::timeout(within, async {
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                let event = self.0.next().await.expect("the stream goes on");
                out.push((
                    event.data().to_owned(),
                    event.last_event_id().as_str().to_owned(),
                ));
            }
            out
        })
        .await
        .unwrap_or_else(|_| panic!("{n} events within {within:?}"))
    }
}

/// Reads a page of a stream in Redis: after the entry `ARGV[1]` (`-` for
/// the start), at most `ARGV[2]` entries, each as one line of its entry ID,
/// `id` and `data` fields separated by tabs; one string answered is read
/// much faster than the entries themselves.
const PAGE_SCRIPT: &str = r"
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
local lines = {}
for _, entry in ipairs(entries) do
  local id, data = '', ''
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'id' then id = fields[i + 1] end
    if fields[i] == 'data' then data = fields[i + 1] end
  end
  lines[#lines + 1] = entry[1] .. '\t' .. id .. '\t' .. data
end
return table.concat(lines, '\n')
";

/// The `id` and `data` fields of every entry of the stream `key` at
/// `redis_url`, in the stream's order (data without tabs or line breaks).
pub async fn stored(redis_url: &str, key: &str) -> Vec<(String, String)> {
    let client = sse_redis::client::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut out = Vec::new();
    let mut after = "-".to_owned();
    loop {
        let page: String = sse_redis::client::cmd("EVAL")
            .arg(PAGE_SCRIPT)
            .arg(1)
            .arg(key)
            .arg(&after)
            .arg(10_000)
            .query_async(&mut conn)
            .await
            .unwrap();
        if page.is_empty() {
            return out;
        }
        for line in page.split('\n') {
            let mut fields = line.splitn(3, '\t');
            let (entry, id, data) = (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            );
            after = format!("({entry}");
            out.push((id.to_owned(), data.to_owned()));
        }
    }
}
