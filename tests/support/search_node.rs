//! Search server nodes of one test's own, started from the same runner as `make up` (the
//! Elasticsearch or OpenSearch one, following the server under test), so that a test can kill,
//! restart or overload them without disturbing the others.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{wait_until, REPO};

/// Which runner: the one of the server the suite runs against.
struct Engine {
    main: &'static str,
    classpath: PathBuf,
    yml: &'static str,
    initial_masters: &'static str,
    /// OpenSearch 3 needs Java 21 or newer; the others run on Java 17.
    java_at_least: u32,
}

fn engine() -> Engine {
    let under_test = Some(super::search_url());
    let is = |name: &str| std::env::var(name).ok() == under_test;
    let (dir, java_at_least) = match () {
        _ if is("PG2ES_TEST_OPENSEARCH3_URL") => ("os3", 21),
        _ if is("PG2ES_TEST_OPENSEARCH_URL") => ("os", 17),
        _ => ("es", 17),
    };
    let (main, yml, initial_masters) = match dir {
        "es" => (
            "org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner",
            "elasticsearch.yml",
            "cluster.initial_master_nodes",
        ),
        _ => (
            "org.codelibs.opensearch.runner.OpenSearchRunner",
            "opensearch.yml",
            "cluster.initial_cluster_manager_nodes",
        ),
    };
    Engine {
        main,
        classpath: Path::new(REPO).join(format!("target/stack/{dir}/classpath.txt")),
        yml,
        initial_masters,
        java_at_least,
    }
}

pub struct SearchNode {
    dir: tempfile::TempDir,
    pub http_port: u16,
    pub transport_port: u16,
    settings: String,
    child: Option<Child>,
}

impl SearchNode {
    /// A node of a cluster named `cluster`, with extra `elasticsearch.yml` lines, started.
    pub fn start(cluster: &str, settings: &str) -> Self {
        let mut node = Self::new(settings, free_port(19300..19400));
        node.launch(cluster);
        node
    }

    /// `count` nodes, one process each, forming one cluster: the first is the only
    /// master-eligible node, the others hold data, so any but the first can be killed.
    pub fn start_cluster(cluster: &str, count: usize) -> Vec<Self> {
        let transports: Vec<u16> = (0..count).map(|_| free_port(19300..19400)).collect();
        let seeds = transports
            .iter()
            .map(|port| format!("\"127.0.0.1:{port}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let masters = engine().initial_masters;
        let mut nodes: Vec<Self> = transports
            .iter()
            .enumerate()
            .map(|(n, port)| {
                let role = match n {
                    0 => format!("node.roles: [master, data, ingest]\n{masters}: [\"Node 1\"]"),
                    _ => "node.roles: [data, ingest]".to_owned(),
                };
                Self::new(&format!("discovery.seed_hosts: [{seeds}]\n{role}"), *port)
            })
            .collect();
        for node in &mut nodes {
            node.launch(cluster);
        }
        nodes
    }

    fn new(settings: &str, transport_port: u16) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            http_port: free_port(9240..9299),
            transport_port,
            settings: settings.to_owned(),
            child: None,
        }
    }

    /// Waits until every shard of the cluster has its replicas.
    pub async fn wait_green(&self) {
        wait_until("a green cluster", Duration::from_secs(120), || {
            let url = self.url();
            async move {
                let query = [("wait_for_status", "green"), ("timeout", "1s")];
                health(&url, &query)
                    .await
                    .is_some_and(|answer| answer.contains("\"timed_out\":false"))
            }
        })
        .await;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Waits until the node answers and its cluster has `nodes` nodes.
    pub async fn wait_ready(&self, nodes: usize) {
        let wait_for = nodes.to_string();
        wait_until("the search node to start", Duration::from_secs(180), || {
            let (url, wait_for) = (self.url(), wait_for.clone());
            async move {
                let query = [("wait_for_nodes", wait_for.as_str()), ("timeout", "1s")];
                health(&url, &query)
                    .await
                    .is_some_and(|answer| answer.contains("\"timed_out\":false"))
            }
        })
        .await;
    }

    /// SIGKILL: the node is gone at once, as on a crash or a lost machine.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts the killed node again on the same ports and data.
    pub fn restart(&mut self, cluster: &str) {
        assert!(self.child.is_none(), "the node is still running");
        self.launch(cluster);
    }

    fn launch(&mut self, cluster: &str) {
        let engine = engine();
        let base = self.dir.path().join("base");
        let config = base.join("node_1/config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join(engine.yml),
            format!(
                "network.host: 127.0.0.1\ntransport.port: {}\n\
                 cluster.routing.allocation.disk.threshold_enabled: false\n{}\n",
                self.transport_port, self.settings
            ),
        )
        .unwrap();
        let classpath = std::fs::read_to_string(&engine.classpath)
            .unwrap_or_else(|_| panic!("{} is missing: run make up", engine.classpath.display()));
        let log = std::fs::File::create(self.dir.path().join("node.log")).unwrap();
        let child = Command::new(java(engine.java_at_least))
            .args(["-Xms256m", "-Xmx512m", "-XX:+ExitOnOutOfMemoryError"])
            .arg(format!("-Djava.io.tmpdir={}", self.dir.path().display()))
            .args(["-Dlog4j2.formatMsgNoLookups=true", "-cp", classpath.trim()])
            .arg(engine.main)
            .arg("-basePath")
            .arg(&base)
            .args(["-numOfNode", "1", "-clusterName", cluster])
            .args(["-baseHttpPort", &(self.http_port - 1).to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the search node");
        self.child = Some(child);
    }
}

impl Drop for SearchNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Java 17 where it will do (the stack's choice), else the first JDK of at least `version`.
fn java(version: u32) -> PathBuf {
    let jvm = Path::new("/usr/lib/jvm/java-17-openjdk-amd64/bin/java");
    if version <= 17 && jvm.exists() {
        return jvm.to_owned();
    }
    let mut jdks: Vec<PathBuf> = std::fs::read_dir("/usr/lib/jvm")
        .unwrap()
        .filter_map(|entry| Some(entry.ok()?.path()))
        .collect();
    jdks.sort();
    jdks.into_iter()
        .filter(|jdk| jdk_version(jdk).is_some_and(|found| found >= version))
        .map(|jdk| jdk.join("bin/java"))
        .find(|java| java.exists())
        .unwrap_or_else(|| {
            panic!("a Java {version} or newer under /usr/lib/jvm (make up finds one)")
        })
}

/// The feature version of a JDK folder, from its `release` file (`JAVA_VERSION="25.0.1"`).
fn jdk_version(jdk: &Path) -> Option<u32> {
    let release = std::fs::read_to_string(jdk.join("release")).ok()?;
    let line = release
        .lines()
        .find(|line| line.starts_with("JAVA_VERSION="))?;
    let version = line.trim_start_matches("JAVA_VERSION=").trim_matches('"');
    version.split('.').next()?.parse().ok()
}

/// A port in `range` that nothing listens on and no other node of this run took (the runner
/// caps HTTP ports at 9299).
fn free_port(range: std::ops::Range<u16>) -> u16 {
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap();
    let port = range
        .filter(|port| !taken.contains(port))
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port");
    taken.push(port);
    port
}

/// `GET /_cluster/health` with a short timeout; `None` while the node does not answer.
async fn health(url: &str, query: &[(&str, &str)]) -> Option<String> {
    let transport = elasticsearch::http::transport::Transport::single_node(url).ok()?;
    let response = transport
        .send(
            elasticsearch::http::Method::Get,
            "/_cluster/health",
            elasticsearch::http::headers::HeaderMap::new(),
            Some(&query),
            None::<()>,
            Some(Duration::from_secs(5)),
        )
        .await
        .ok()?;
    response.text().await.ok()
}
