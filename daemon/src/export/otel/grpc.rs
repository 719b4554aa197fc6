//! OTLP/gRPC export of requests that are already protobuf bytes (the spool holds them so).
//!
//! tonic's only codec (`tonic_prost::ProstCodec`) takes prost message structs: sending a
//! spooled request through it would decode it into one and encode it again. This codec,
//! written here because tonic has no pass-through one, writes the bytes as they are; the
//! response (`Export*ServiceResponse`) comes back as bytes too, for its `partial_success`.
use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::Status;

use super::request::Signal;

/// Encodes byte chunks as they are, back to back (spooled requests of one run: their
/// concatenation is their protobuf merge); returns a response's bytes undecoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<Bytes>;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<Bytes>;
    type Error = Status;

    fn encode(&mut self, item: Vec<Bytes>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.iter().map(Bytes::len).sum());
        for b in item {
            dst.put(b);
        }
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The gRPC method of a signal's OTLP export service.
fn path(signal: Signal) -> PathAndQuery {
    PathAndQuery::from_static(match signal {
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    })
}

/// Sends one encoded export request of `signal`; the response's bytes when the collector
/// accepted it.
pub async fn export(
    channel: Channel,
    signal: Signal,
    req: tonic::Request<Vec<Bytes>>,
    gzip: bool,
) -> Result<Bytes, Status> {
    let mut client = tonic::client::Grpc::new(channel);
    if gzip {
        client = client.send_compressed(CompressionEncoding::Gzip);
    }
    client
        .ready()
        .await
        .map_err(|e| Status::unavailable(format!("collector not ready: {e}")))?;
    client
        .unary(req, path(signal), RawCodec)
        .await
        .map(|r| r.into_inner())
}
