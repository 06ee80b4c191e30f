//! The clients and the request both modes send: an HTTP/1.1 keep-alive pool, and for
//! `streams --http2` a fixed set of HTTP/2 prior-knowledge (h2c) connections that streams are
//! spread over.

use bytes::Bytes;
use clap::Args;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::path::PathBuf;
use tokio::sync::OnceCell;

/// The client both modes use.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// What to send: the target, headers and body.
#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// Full URL, e.g. `http://127.0.0.1:8000/v1/chat/completions`.
    #[arg(long)]
    pub url: String,
    /// A request header as `name: value` (repeat for several).
    #[arg(long = "header")]
    pub headers: Vec<String>,
    /// The JSON body inline.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// A file holding the JSON body.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Per-request limit in seconds (waiting for a connection slot included).
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

/// A request ready to be cloned and sent many times.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub uri: Uri,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Prepared {
    /// Checks the URL and headers and reads the body once. `stream`: force `"stream": true` into
    /// a JSON object body.
    pub fn from_args(args: &RequestArgs, stream: bool) -> Result<Prepared, String> {
        let uri: Uri = args
            .url
            .parse()
            .map_err(|e| format!("--url `{}` is not a valid URL: {e}", args.url))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("--url `{}` must start with http://", args.url));
        }
        let mut headers = Vec::new();
        let mut has_content_type = false;
        for header in &args.headers {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| format!("--header `{header}` must look like `name: value`"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|e| format!("--header `{header}`: bad name: {e}"))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|e| format!("--header `{name}`: bad value: {e}"))?;
            has_content_type |= name == hyper::header::CONTENT_TYPE;
            headers.push((name, value));
        }
        if !has_content_type {
            headers.push((
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ));
        }
        let text = match (&args.body, &args.body_file) {
            (Some(body), _) => body.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --body-file {}: {e}", path.display()))?,
            (None, None) => return Err("give the request body with --body or --body-file".into()),
        };
        let body = if stream {
            let mut value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("the body is not JSON: {e}"))?;
            let object = value
                .as_object_mut()
                .ok_or("the body must be a JSON object")?;
            object.insert("stream".into(), serde_json::Value::Bool(true));
            Bytes::from(value.to_string())
        } else {
            Bytes::from(text)
        };
        Ok(Prepared { uri, headers, body })
    }

    /// A fresh POST request.
    pub fn request(&self) -> Result<Request<Full<Bytes>>, String> {
        let mut builder = Request::post(self.uri.clone());
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(self.body.clone()))
            .map_err(|e| format!("cannot build the request: {e}"))
    }
}

/// HTTP/2 over cleartext with prior knowledge: `count` connections to one server, each opened
/// by the first request that needs it. Request `i` goes on connection `i % count`, so each
/// connection carries at most `ceil(requests / count)` of them.
pub struct H2Connections {
    /// `host:port` to connect to.
    authority: String,
    connections: Vec<OnceCell<http2::SendRequest<Full<Bytes>>>>,
}

impl H2Connections {
    /// `count` (at least 1) lazily opened connections to the server of `uri`.
    pub fn new(uri: &Uri, count: usize) -> Result<H2Connections, String> {
        let host = uri
            .host()
            .ok_or_else(|| format!("--url `{uri}` has no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        Ok(H2Connections {
            authority: format!("{host}:{port}"),
            connections: (0..count.max(1)).map(|_| OnceCell::new()).collect(),
        })
    }

    /// How many connections requests are spread over.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    /// How many of them are open (or were, before failing).
    pub fn opened(&self) -> usize {
        self.connections.iter().filter(|c| c.initialized()).count()
    }

    async fn connect(&self) -> Result<http2::SendRequest<Full<Bytes>>, String> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| {
                if e.raw_os_error() == Some(24) {
                    "connect: too many open files".to_string()
                } else if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    "connect: refused".to_string()
                } else {
                    format!("connect: {e}")
                }
            })?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("connect: cannot set TCP_NODELAY: {e}"))?;
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("http2 handshake: {e}"))?;
        tokio::spawn(async move {
            // Its error reaches every stream on it as that stream's error.
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends request number `index` on its connection (opening it first if needed).
    pub async fn send(
        &self,
        index: usize,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, String> {
        let cell = &self.connections[index % self.connections.len()];
        let mut sender = cell.get_or_try_init(|| self.connect()).await?.clone();
        sender
            .ready()
            .await
            .map_err(|e| format!("http2 connection: {}", innermost(&e)))?;
        *request.version_mut() = Version::HTTP_2;
        sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {}", innermost(&e)))
    }
}

/// The deepest cause of an error, which says what went wrong on the wire.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// A keep-alive client; `idle_per_host` connections are kept for reuse.
pub fn client(idle_per_host: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(idle_per_host)
        .build(connector)
}

/// A short name for a transport error, for the error tally.
pub fn error_kind(error: &hyper_util::client::legacy::Error) -> String {
    if error.is_connect() {
        let text = format!("{error:?}");
        if text.contains("Too many open files") {
            return "connect: too many open files".into();
        }
        if text.contains("refused") {
            return "connect: refused".into();
        }
        return "connect".into();
    }
    format!("request: {}", innermost(error))
}
