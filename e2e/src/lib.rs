//! The end-to-end kit: the upstreams both gateways proxy to (an [`echo`] server and an
//! [`llm`] mock speaking OpenAI, Anthropic and Azure OpenAI), the [`auth`] service ext-auth asks, a small blocking HTTP
//! [`client`] the suite uses, and the [`stack`] runner that starts Redis, the upstreams, the
//! auth service and the local gateway on free loopback ports for `make e2e-local` and
//! `make run`.

pub mod auth;
pub mod body;
pub mod client;
pub mod demo;
pub mod echo;
pub mod llm;
pub mod load;
pub mod nginx;
pub mod server;
pub mod sign;
pub mod stack;
