//! Health checks of the keys out of rotation: one VM of the plugin (elected with a lease in
//! shared data) asks the provider `healthCheckModel` "who are you?" with each of them every
//! `healthCheckInterval`, where the failing requests went, and counts the 200s.

use crate::config::Config;
use crate::request::health_request;
use higress_sdk::config::{RuleSet, Selected};
use higress_sdk::leader::LeaderElection;
use higress_sdk::prelude::*;
use std::rc::Rc;

/// Checks the keys out of rotation of the provider of `rules`' config `at`, if this VM leads.
pub fn run(rules: &Rc<RuleSet<Config>>, at: Selected, election: &LeaderElection) {
    let Some(provider) = rules.get(at).and_then(Config::active) else { return };
    let Some(failover) = &provider.failover else { return };
    let out = failover.unavailable();
    if out.is_empty() || !election.try_acquire() {
        return;
    }
    let Some(endpoint) = failover.endpoint() else { return };
    for key in out {
        let (path, headers, body) = match health_request(provider, &failover.model, &key) {
            Ok(request) => request,
            Err(message) => {
                log_warn!("failover: no health check can be made: {message}");
                return;
            }
        };
        let cluster = Cluster::Target { cluster: endpoint.cluster.clone(), host: endpoint.host.clone() };
        let owner = Rc::clone(rules);
        let request = HttpClient::new(cluster).post(&path, body).headers(&headers).timeout(failover.timeout);
        let sent = request.send_from_root(move |response| {
            let failover = owner.get(at).and_then(Config::active).and_then(|p| p.failover.as_ref());
            match failover {
                Some(failover) if response.status == 200 => failover.checked_ok(&key),
                _ => log_debug!("failover: a health check answered {}", response.status),
            }
        });
        if let Err(error) = sent {
            log_warn!("failover: the health check could not be sent: {error}");
        }
    }
}
