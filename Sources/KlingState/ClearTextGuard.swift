import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Stands between the socket and PostgresNIO on a connection that may go without TLS, and ends
/// it before the password leaves when the server asks for it in clear text
/// (`AuthenticationCleartextPassword`) on a connection that is not encrypted: a server at the
/// `state:` address could otherwise read the password, and so could anyone on the way.
///
/// It reads the protocol's first exchange only: the answer to an `SSLRequest` (`S` and TLS
/// follows: nothing more is read; `N`: the conversation goes on in clear), then whole backend
/// messages until authentication is over (`AuthenticationOk`). Until then, only whole messages
/// are passed on, each after it was judged.
final class ClearTextGuard: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Whether the guard ended a connection, read by whoever opened it (any thread).
    final class Verdict: Sendable {
        private let refused = NIOLockedValueBox(false)
        var wasRefused: Bool { refused.withLockedValue { $0 } }
        func refuse() { refused.withLockedValue { $0 = true } }
    }

    private enum Phase {
        case start, awaitingSSLAnswer, clear, done
    }

    /// `SSLRequest`: length 8, code 80877103.
    static let sslRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
    /// `R`, length 8, code 3: the server asks for the password as it is.
    private static let clearTextCode: Int32 = 3

    private static let maxMessage: Int32 = 1 << 20

    private var phase = Phase.start
    private var pending: ByteBuffer?
    let verdict: Verdict

    init(verdict: Verdict) {
        self.verdict = verdict
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if phase == .start {
            let bytes = unwrapOutboundIn(data)
            phase = bytes.getBytes(at: bytes.readerIndex, length: 8) == Self.sslRequest ? .awaitingSSLAnswer : .clear
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch phase {
        case .done, .start:
            context.fireChannelRead(data)
        case .awaitingSSLAnswer:
            // `S`: TLS follows, and everything after is encrypted. `N`: the talk goes on in clear.
            // Anything else is no answer to the request: the connection ends.
            switch bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) {
            case UInt8(ascii: "S"):
                phase = .done
                context.fireChannelRead(data)
            case UInt8(ascii: "N"):
                phase = .clear
                guard let first = bytes.readSlice(length: 1) else { return }
                context.fireChannelRead(wrapInboundOut(first))
                if bytes.readableBytes > 0 { judge(context: context, bytes) }
            default:
                context.close(promise: nil)
            }
        case .clear:
            judge(context: context, bytes)
        }
    }

    /// Passes on each whole message after judging it; keeps a partial one for the next read.
    private func judge(context: ChannelHandlerContext, _ bytes: ByteBuffer) {
        var buffer =
            pending.map { previous -> ByteBuffer in
                var joined = previous
                var more = bytes
                joined.writeBuffer(&more)
                return joined
            } ?? bytes
        pending = nil
        while phase == .clear, buffer.readableBytes >= 5,
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self)
        {
            // No message of the first exchange is this long: a server that says so is not waited for.
            guard (4...Self.maxMessage).contains(length) else {
                context.close(promise: nil)
                return
            }
            guard buffer.readableBytes >= 1 + Int(length) else { break }
            let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)
            if type == UInt8(ascii: "R"), let code = buffer.getInteger(at: buffer.readerIndex + 5, as: Int32.self) {
                if code == Self.clearTextCode {
                    verdict.refuse()
                    context.close(promise: nil)
                    return
                }
                if code == 0 { phase = .done }
            }
            guard let message = buffer.readSlice(length: 1 + Int(length)) else { break }
            context.fireChannelRead(wrapInboundOut(message))
        }
        if buffer.readableBytes > 0 {
            if phase == .done {
                context.fireChannelRead(wrapInboundOut(buffer))
            } else {
                pending = buffer
            }
        }
    }
}

/// The server asked for the password in clear text on a connection without TLS: it was not sent.
struct ClearTextRefused: Error {}
