//! How clients connect: the WebSocket ([`connect`], which also holds the handshake both transports share), long
//! polling ([`longpoll`]), and the accept loop in front of both and of REST ([`listener`]).

pub mod connect;
pub mod listener;
pub mod longpoll;
