import Foundation
import LibUSB
import SAMProtocol

/// Which bulk endpoints carry a USB reader's frames.
public enum USBReaderEndpoints: Sendable, Equatable {
    /// The ministry standard: a frame's 7-byte header on one endpoint and the rest on another, each way
    /// (0x02 / 0x06 out, 0x81 / 0x85 in).
    case split(headerOut: USBBulkEndpoint, bodyOut: USBBulkEndpoint, headerIn: USBBulkEndpoint, bodyIn: USBBulkEndpoint)
    /// One OUT/IN pair carrying whole frames in packets.
    case single(out: USBBulkEndpoint, in: USBBulkEndpoint)

    /// Chooses from one interface's bulk endpoints.
    ///
    /// With `split` wanted and two endpoints each way, the lower-numbered endpoint of each direction carries the
    /// header (0x02 and 0x81 in the standard): descriptor order differs between devices, numbers keep their
    /// meaning. A device with only one pair falls back to `single`. Nil when there is not even one pair.
    public static func choose(from endpoints: [USBBulkEndpoint], split: Bool) -> USBReaderEndpoints? {
        let outs = endpoints.filter { !$0.isInput }.sorted { $0.address < $1.address }
        let ins = endpoints.filter(\.isInput).sorted { $0.address < $1.address }
        guard let firstOut = outs.first, let firstIn = ins.first else { return nil }
        if split, outs.count >= 2, ins.count >= 2 {
            return .split(headerOut: firstOut, bodyOut: outs[1], headerIn: firstIn, bodyIn: ins[1])
        }
        return .single(out: firstOut, in: firstIn)
    }

    var inputs: [USBBulkEndpoint] {
        switch self {
        case .split(_, _, let headerIn, let bodyIn): [headerIn, bodyIn]
        case .single(_, let input): [input]
        }
    }

    /// Readable form for logs and device details, e.g. `split 02+06/81+85`.
    public var summary: String {
        func hex(_ endpoint: USBBulkEndpoint) -> String {
            let text = String(endpoint.address, radix: 16)
            return text.count == 1 ? "0" + text : text
        }
        return switch self {
        case .split(let headerOut, let bodyOut, let headerIn, let bodyIn):
            "split \(hex(headerOut))+\(hex(bodyOut))/\(hex(headerIn))+\(hex(bodyIn))"
        case .single(let output, let input): "single \(hex(output))/\(hex(input))"
        }
    }
}

/// A reader on USB bulk endpoints through libusb: the ministry-standard split endpoints, or one OUT/IN pair.
///
/// Blocking: it runs on the reader's driver thread. Unplugging surfaces as `IDCardError.usb` with
/// `LIBUSB_ERROR_NO_DEVICE`, and the driver reopens the device when it is back.
public final class USBBulkTransport: SAMTransport {
    public let deviceName: String
    public let endpoints: USBReaderEndpoints
    private let device: USBDeviceHandle
    private var decoder = SAMFrameDecoder()
    private var discards: [SAMDiscard] = []
    /// A reply may still be in the device's IN endpoints after a command timed out.
    private var mayHoldStaleReply = false

    /// Opens the reader with `usbID` at `location` and claims the interface holding its bulk endpoints.
    /// - Parameter split: the quirk data's layout is `split` (falls back to one pair when the device has only one).
    public init(context: USBContext, usbID: String, location: String?, split: Bool) throws(IDCardError) {
        let name = "\(usbID)@\(location ?? "any")"
        deviceName = name
        let device: USBDeviceHandle
        do { device = try context.openDevice(usbID: usbID, location: location) } catch {
            throw .usb(call: error.call, device: name, error: error.name)
        }
        guard let (interface, chosen) = device.interfaces.lazy
            .compactMap({ interface in USBReaderEndpoints.choose(from: interface.bulkEndpoints, split: split).map { (interface, $0) } })
            .first
        else {
            device.close()
            throw .usb(call: "libusb_get_active_config_descriptor", device: name, error: "no interface with a bulk OUT/IN pair")
        }
        do { try device.claimInterface(interface.number) } catch {
            device.close()
            throw .usb(call: error.call, device: name, error: error.name)
        }
        self.device = device
        endpoints = chosen
    }

    public func close() { device.close() }

    public func takeDiscards() -> [SAMDiscard] {
        defer { discards.removeAll() }
        return discards
    }

    public func exchange(_ request: [UInt8], timeoutMilliseconds: Int) throws(IDCardError) -> SAMReply? {
        decoder.reset()
        if mayHoldStaleReply {
            try drainInputs()
            mayHoldStaleReply = false
        }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        do {
            switch endpoints {
            case .split(let headerOut, let bodyOut, _, _):
                try device.bulkWrite(endpoint: headerOut.address, Array(request.prefix(7)), timeoutMilliseconds: timeoutMilliseconds)
                try device.bulkWrite(endpoint: bodyOut.address, Array(request.dropFirst(7)), timeoutMilliseconds: remaining(deadline))
            case .single(let output, _):
                try device.bulkWrite(endpoint: output.address, request, timeoutMilliseconds: timeoutMilliseconds)
            }
        } catch where error.isTimeout {
            mayHoldStaleReply = true
            return nil
        } catch {
            throw .usb(call: error.call, device: deviceName, error: error.name)
        }
        while remaining(deadline) > 0 {
            let (endpoint, length) = nextRead()
            let bytes: [UInt8]
            do { bytes = try device.bulkRead(endpoint: endpoint.address, maxLength: length, timeoutMilliseconds: remaining(deadline)) } catch {
                throw .usb(call: error.call, device: deviceName, error: error.name)
            }
            for output in decoder.feed(bytes) {
                switch output {
                case .reply(let reply): return reply
                case .discarded(let reason): discards.append(reason)
                case .request: break  // a reply decoder never yields requests
                }
            }
        }
        mayHoldStaleReply = true
        return nil
    }

    /// Where the next bytes come from, and how many to ask for: the header endpoint until a frame's header is in,
    /// then its body, asked for in whole packets so a short last packet ends the transfer.
    private func nextRead() -> (USBBulkEndpoint, Int) {
        let needed = decoder.bytesNeeded
        let endpoint: USBBulkEndpoint = switch endpoints {
        case .split(_, _, let headerIn, let bodyIn): needed == nil ? headerIn : bodyIn
        case .single(_, let input): input
        }
        let packet = max(1, endpoint.maxPacketSize)
        let wanted = max(needed ?? packet, 1)
        return (endpoint, (wanted + packet - 1) / packet * packet)
    }

    private func remaining(_ deadline: UInt64) -> Int {
        let now = DispatchTime.now().uptimeNanoseconds
        return now >= deadline ? 0 : Int((deadline - now) / 1_000_000) + 1
    }

    /// Throws away whatever the IN endpoints still hold from a command that timed out.
    private func drainInputs() throws(IDCardError) {
        for endpoint in endpoints.inputs {
            for _ in 0..<8 {
                let bytes: [UInt8]
                do { bytes = try device.bulkRead(endpoint: endpoint.address, maxLength: 4096, timeoutMilliseconds: 5) } catch {
                    throw .usb(call: error.call, device: deviceName, error: error.name)
                }
                if bytes.isEmpty { break }
                discards.append(.garbage(count: bytes.count))
            }
        }
    }
}
