//! Answers no cloud gives, for the fetcher's bounds tests: bodies of any size, made as they
//! are sent (the test never holds them), with or without a `Content-Length`, and headers of
//! the test's choosing. Requests are not verified: the signatures are the other fakes' job.

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::{action_of, read_request, Request};

/// One answer: status, extra headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

pub enum Body {
    /// Sent whole, with its length.
    Text(String),
    /// `head`, then `unit` `count` times, then `tail`; with its `Content-Length` when
    /// `declared`, else ended by closing the connection.
    Repeat {
        head: String,
        unit: String,
        count: u64,
        tail: String,
        declared: bool,
    },
}

impl Answer {
    pub fn json(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Text(body.into()),
        }
    }

    pub fn xml(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: Body::Text(body.into()),
        }
    }
}

pub struct Hostile {
    pub port: u16,
    /// The action of every request, in order.
    pub actions: Arc<Mutex<Vec<String>>>,
}

impl Hostile {
    pub fn start(handler: impl Fn(&Request, usize) -> Answer + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let actions = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let seen = Arc::clone(&actions);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                // Head and body go in separate writes: without this, Nagle's algorithm and
                // the client's delayed ACK hold each answer 40 ms.
                let _ = stream.set_nodelay(true);
                let (handler, seen) = (Arc::clone(&handler), Arc::clone(&seen));
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    while let Some(request) = read_request(&mut reader) {
                        let n = {
                            let mut seen = seen.lock().unwrap();
                            seen.push(action_of(&request));
                            seen.len() - 1
                        };
                        if !send(&mut stream, handler(&request, n)) {
                            return;
                        }
                    }
                });
            }
        });
        Hostile { port, actions }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn actions(&self) -> Vec<String> {
        self.actions.lock().unwrap().clone()
    }
}

/// Writes `answer`; false when the connection is done (closed by either side).
fn send(stream: &mut impl Write, answer: Answer) -> bool {
    let mut head = format!("HTTP/1.1 {} X\r\n", answer.status);
    for (k, v) in &answer.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match answer.body {
        Body::Text(text) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", text.len()));
            stream.write_all(head.as_bytes()).is_ok() && stream.write_all(text.as_bytes()).is_ok()
        }
        Body::Repeat {
            head: first,
            unit,
            count,
            tail,
            declared,
        } => {
            match declared {
                true => {
                    let len = first.len() as u64 + unit.len() as u64 * count + tail.len() as u64;
                    head.push_str(&format!("Content-Length: {len}\r\n\r\n"));
                }
                false => head.push_str("Connection: close\r\n\r\n"),
            }
            // Units in blocks of about 64 KiB: few writes, little held.
            let per_block = (65_536 / unit.len().max(1)).max(1) as u64;
            let block = unit.repeat(per_block as usize);
            let mut ok = stream.write_all(head.as_bytes()).is_ok()
                && stream.write_all(first.as_bytes()).is_ok();
            let mut left = count;
            while ok && left > 0 {
                let n = left.min(per_block);
                ok = stream
                    .write_all(&block.as_bytes()[..n as usize * unit.len()])
                    .is_ok();
                left -= n;
            }
            ok && stream.write_all(tail.as_bytes()).is_ok() && declared
        }
    }
}
