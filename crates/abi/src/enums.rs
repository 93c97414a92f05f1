//! The enums of the ABI. Every one converts from its wire value without panicking:
//! an unknown value is `None`, because a host or guest of another version may send it.

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident : $repr:ty { $($(#[$vmeta:meta])* $variant:ident = $value:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr($repr)]
        pub enum $name { $($(#[$vmeta])* $variant = $value),+ }

        impl $name {
            /// Every variant, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant for a wire value, or `None` when the value is unknown.
            pub const fn from_wire(value: $repr) -> Option<Self> {
                match value { $($value => Some($name::$variant),)+ _ => None }
            }

            /// The wire value.
            pub const fn wire(self) -> $repr { self as $repr }
        }
    };
}

wire_enum! {
    /// Log levels, as in Envoy's spdlog levels.
    LogLevel: u32 { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Critical = 5 }
}

wire_enum! {
    /// The status every hostcall returns.
    Status: u32 {
        Ok = 0, NotFound = 1, BadArgument = 2, SerializationFailure = 3, ParseFailure = 4,
        BadExpression = 5, InvalidMemoryAccess = 6, Empty = 7, CasMismatch = 8,
        ResultMismatch = 9, InternalFailure = 10, BrokenConnection = 11, Unimplemented = 12,
    }
}

wire_enum! {
    /// Buffers a plugin can read or write with `proxy_get/set_buffer_bytes`.
    BufferType: u32 {
        HttpRequestBody = 0, HttpResponseBody = 1, DownstreamData = 2, UpstreamData = 3,
        HttpCallResponseBody = 4, GrpcReceiveBuffer = 5, VmConfiguration = 6,
        PluginConfiguration = 7, CallData = 8,
        /// Higress: the raw RESP reply of a Redis call, valid during its callback.
        RedisCallResponse = 9,
    }
}

wire_enum! {
    /// Header maps a plugin can read or write.
    MapType: u32 {
        HttpRequestHeaders = 0, HttpRequestTrailers = 1, HttpResponseHeaders = 2,
        HttpResponseTrailers = 3, GrpcReceiveInitialMetadata = 4,
        GrpcReceiveTrailingMetadata = 5, HttpCallResponseHeaders = 6,
        HttpCallResponseTrailers = 7,
    }
}

wire_enum! {
    /// Streams `proxy_continue_stream` / `proxy_close_stream` act on.
    StreamType: u32 { HttpRequest = 0, HttpResponse = 1, Downstream = 2, Upstream = 3 }
}

wire_enum! {
    /// Metric kinds for `proxy_define_metric`.
    MetricType: u32 { Counter = 0, Gauge = 1, Histogram = 2 }
}

wire_enum! {
    /// What a header callback returns (Envoy's `FilterHeadersStatus`, ABI 0.2.100 numbering).
    HeaderAction: u32 {
        /// Pass the headers on.
        Continue = 0,
        /// Hold the headers; body callbacks keep coming (read the body before deciding).
        StopIteration = 1,
        /// Pass the headers on as the end of the stream; later body and trailers are dropped.
        ContinueAndEndStream = 2,
        /// Hold everything, buffering the body, until the plugin resumes the stream.
        StopAllIterationAndBuffer = 3,
        /// Hold everything with flow control until the plugin resumes (use while a callout runs).
        StopAllIterationAndWatermark = 4,
    }
}

wire_enum! {
    /// What a body callback returns (Envoy's `FilterDataStatus`).
    DataAction: u32 {
        /// Pass this chunk (and anything buffered before it) on.
        Continue = 0,
        /// Hold and buffer; the next callback sees everything buffered so far.
        StopIterationAndBuffer = 1,
        /// Like `StopIterationAndBuffer`, with flow control toward the sender.
        StopIterationAndWatermark = 2,
        /// Hold without buffering: the chunk is dropped unless the plugin kept a copy.
        StopIterationNoBuffer = 3,
    }
}

wire_enum! {
    /// What a trailers callback returns.
    TrailersAction: u32 { Continue = 0, StopIteration = 1 }
}

impl HeaderAction {
    /// The value a `proxy_abi_version_0_2_1` module can return: only Continue (0) or Pause (1).
    pub const fn fold_0_2_1(self) -> u32 {
        match self {
            HeaderAction::Continue => 0,
            _ => 1,
        }
    }
}

impl DataAction {
    /// The value a `proxy_abi_version_0_2_1` module can return: only Continue (0) or Pause (1).
    pub const fn fold_0_2_1(self) -> u32 {
        match self {
            DataAction::Continue => 0,
            _ => 1,
        }
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_match_the_spec() {
        assert_eq!(Status::Unimplemented.wire(), 12);
        assert_eq!(Status::from_wire(8), Some(Status::CasMismatch));
        assert_eq!(Status::from_wire(13), None);
        assert_eq!(BufferType::RedisCallResponse.wire(), 9);
        assert_eq!(MapType::HttpCallResponseTrailers.wire(), 7);
        assert_eq!(HeaderAction::StopAllIterationAndWatermark.wire(), 4);
        assert_eq!(DataAction::StopIterationNoBuffer.wire(), 3);
        assert_eq!(LogLevel::from_wire(5), Some(LogLevel::Critical));
        assert_eq!(MetricType::Histogram.wire(), 2);
        assert_eq!(StreamType::Upstream.wire(), 3);
    }

    #[test]
    fn every_variant_round_trips() {
        for s in Status::ALL {
            assert_eq!(Status::from_wire(s.wire()), Some(*s));
        }
        for b in BufferType::ALL {
            assert_eq!(BufferType::from_wire(b.wire()), Some(*b));
        }
        for m in MapType::ALL {
            assert_eq!(MapType::from_wire(m.wire()), Some(*m));
        }
        for a in HeaderAction::ALL {
            assert_eq!(HeaderAction::from_wire(a.wire()), Some(*a));
        }
    }

    #[test]
    fn folding_for_0_2_1() {
        assert_eq!(HeaderAction::Continue.fold_0_2_1(), 0);
        assert_eq!(HeaderAction::StopAllIterationAndWatermark.fold_0_2_1(), 1);
        assert_eq!(HeaderAction::StopIteration.fold_0_2_1(), 1);
        assert_eq!(DataAction::StopIterationNoBuffer.fold_0_2_1(), 1);
        assert_eq!(DataAction::Continue.fold_0_2_1(), 0);
    }
}
