//! The real OpenStack stack of `scripts/openstack.sh` (Keystone, Nova with
//! the fake driver, Glance, Neutron on 127.0.0.1): reads its state file,
//! and gives each test its own Keystone project and member user, removed
//! (servers first) when the test ends. A stack that is not running fails
//! the test with the command that starts it; it never skips.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The state file `scripts/openstack.sh start` writes.
fn state_path() -> String {
    std::env::var("SCALER_OS_STATE").unwrap_or_else(|_| {
        let run =
            std::env::var("SCALER_OS_RUN").unwrap_or_else(|_| "/var/tmp/scaler-openstack".into());
        format!("{run}/stack.env")
    })
}

/// What the harness wrote: URLs, admin credentials, flavor and image names.
pub struct Stack {
    vars: BTreeMap<String, String>,
    agent: ureq::Agent,
}

impl Stack {
    pub fn get() -> Stack {
        let path = state_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the OpenStack stack is not running ({path}: {e}): run scripts/openstack.sh start"
            )
        });
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Stack { vars, agent }
    }

    pub fn var(&self, key: &str) -> String {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing from {}", state_path()))
            .clone()
    }

    pub fn auth_url(&self) -> String {
        self.var("SCALER_OS_AUTH_URL")
    }

    pub fn nova(&self) -> String {
        self.var("SCALER_OS_NOVA_URL")
    }

    /// `(status, body)` of one request (`token` as `X-Auth-Token`).
    pub fn call(&self, method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("X-Auth-Token", token)
            .header("Content-Type", "application/json")
            .header("OpenStack-API-Version", "compute 2.3")
            .header("X-OpenStack-Nova-API-Version", "2.3");
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let mut answer = self
            .agent
            .run(request.body(text).unwrap())
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A project-scoped token for `user`/`password` in `project`.
    pub fn token(&self, user: &str, password: &str, project: &str) -> String {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}});
        let mut answer = self
            .agent
            .post(format!("{}/auth/tokens", self.auth_url()))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("Keystone answers");
        assert_eq!(
            answer.status().as_u16(),
            201,
            "token for {user}: {:?}",
            answer.body_mut().read_to_string()
        );
        answer.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_string()
    }

    pub fn admin_token(&self) -> String {
        self.token(
            &self.var("SCALER_OS_ADMIN_USER"),
            &self.var("SCALER_OS_ADMIN_PASSWORD"),
            &self.var("SCALER_OS_ADMIN_PROJECT"),
        )
    }

    /// The servers of a project as its member sees them.
    pub fn servers(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.call(
            "GET",
            &format!("{}/servers/detail", self.nova()),
            token,
            None,
        );
        assert_eq!(status, 200, "{body}");
        body["servers"].as_array().unwrap().clone()
    }
}

/// A Keystone project of one test, with a member user; dropped with its
/// servers.
pub struct Project {
    pub stack: Stack,
    pub name: String,
    pub user: String,
    pub user_id: String,
    pub password: String,
    admin: String,
    project_id: String,
}

impl Project {
    pub fn new(tag: &str) -> Project {
        let stack = Stack::get();
        let admin = stack.admin_token();
        let name = format!("scaler-test-{}-{tag}", std::process::id());
        let keystone = stack.auth_url();
        let (status, body) = stack.call(
            "POST",
            &format!("{keystone}/projects"),
            &admin,
            Some(json!({"project": {"name": name, "domain_id": "default"}})),
        );
        assert_eq!(status, 201, "creating project {name}: {body}");
        let project_id = body["project"]["id"].as_str().unwrap().to_string();
        let password = format!("pw-{}-{tag}", std::process::id());
        let (status, body) = stack.call(
            "POST",
            &format!("{keystone}/users"),
            &admin,
            Some(
                json!({"user": {"name": name, "domain_id": "default", "password": password,
                "default_project_id": project_id}}),
            ),
        );
        assert_eq!(status, 201, "creating user {name}: {body}");
        let user_id = body["user"]["id"].as_str().unwrap().to_string();
        let (_, roles) = stack.call(
            "GET",
            &format!("{keystone}/roles?name=member"),
            &admin,
            None,
        );
        let role = roles["roles"][0]["id"]
            .as_str()
            .expect("the member role")
            .to_string();
        let (status, body) = stack.call(
            "PUT",
            &format!("{keystone}/projects/{project_id}/users/{user_id}/roles/{role}"),
            &admin,
            None,
        );
        assert_eq!(status, 204, "granting member: {body}");
        Project {
            stack,
            user: name.clone(),
            name,
            user_id,
            password,
            admin,
            project_id,
        }
    }

    pub fn token(&self) -> String {
        self.stack.token(&self.user, &self.password, &self.name)
    }

    /// Waits (bounded) until `done` holds for the project's servers.
    pub fn wait_servers(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let token = self.token();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let servers = self.stack.servers(&token);
            if done(&servers) {
                return servers;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within 180 s; servers: {servers:#?} (logs: {})",
                self.stack.var("SCALER_OS_LOG")
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let token = self.token();
        let nova = self.stack.nova();
        for server in self.stack.servers(&token) {
            let id = server["id"].as_str().unwrap_or_default();
            self.stack
                .call("DELETE", &format!("{nova}/servers/{id}"), &token, None);
        }
        // Servers hold the fake host's resources until they are gone.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.stack.servers(&token).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(500));
        }
        let keystone = self.stack.auth_url();
        self.stack.call(
            "DELETE",
            &format!("{keystone}/users/{}", self.user_id),
            &self.admin,
            None,
        );
        self.stack.call(
            "DELETE",
            &format!("{keystone}/projects/{}", self.project_id),
            &self.admin,
            None,
        );
    }
}
