//! The front: where clients come in. Listener → door → HTTP.
//!
//! - [`accept`]: the accept loop, one task per connection, drain at the end.
//! - [`serve`]: HTTP/1 on a connection (head tap, route, pipeline).
//! - [`forward`]: forward mode's door (CONNECT, TLS interception, HTTP/2,
//!   absolute-form requests), which serves HTTP through [`serve`] on what
//!   it finds inside a tunnel.
//! - [`shutdown`]: stop accepting, drain, then cut off.
//! - [`limits`]: the open-file limit, the connection cap, the client
//!   timeout, warnings said once then counted.
//!
//! Where a request goes is [`crate::route`]'s; what happens to it after is
//! [`crate::exchange`]'s.

mod accept;
pub mod forward;
pub mod limits;
mod serve;
pub mod shutdown;

pub use accept::run;
pub use serve::{refuse, serve_http1};
