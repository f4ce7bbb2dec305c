// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IAzoraCollection} from "../interfaces/IAzoraCollection.sol";
import {IEscrow} from "../interfaces/IEscrow.sol";
import {ILearn} from "../interfaces/ILearn.sol";
import {INFTRegistry} from "../interfaces/INFTRegistry.sol";

/// @title CourseMarketplace — the example dApp of the native ledger (LEARN, NFT registry, Escrow together).
/// @notice A teacher lists a course priced in LEARN with a completion window; a student buys it (the price goes into
///         native escrow); the teacher completes it (the payment is released to the teacher and a certificate NFT is
///         minted to the student) or, if the window passes first, the student is refunded.
///
/// Design (why it is shaped this way):
/// - Certificates: `listCourse` creates one NFT collection per course through the registry, so THIS contract is the
///   collection owner (the registry makes the caller of createCollection the owner, and only the owner can mint).
///   Certificates can therefore only be minted by `complete`, in the same transaction that pays the teacher: a
///   certificate always means a paid, completed purchase, and the teacher cannot mint certificates on the side.
///   The teacher is the collection's royalty receiver (0 bps).
/// - Payment: the student approves this contract for the price in LEARN; `buy` pulls it (transferFrom) and opens the
///   escrow itself, so the escrow's payer is this contract (the escrow takes the payer from msg.sender), the payee is
///   the teacher and the arbiter is this contract too. Being payer lets `complete` release; being arbiter lets
///   `refund` settle an escrow the teacher disputed to stall it (resolve with nothing to the payee).
///   A refund from the escrow lands here (the payer), so `refund` forwards it to the student in the same transaction.
///   If the escrow was refunded directly (by the teacher at any time, or by anyone at Escrow.refund after the
///   deadline), `refund` still forwards the LEARN it received: every purchase is paid out exactly once, to the
///   teacher or to the student, and this contract holds LEARN only until it forwards it.
/// - Safety: checks-effects-interactions (a purchase's status is final before any module is called), a reentrancy
///   guard on every function that calls out, custom errors. The only external code that can run is the
///   student's onERC721Received during the certificate mint, after every effect. A student contract that refuses the
///   certificate cannot block the teacher's payment (the mint is tried with a fixed gas budget; failure is logged).
contract CourseMarketplace is ReentrancyGuard {
    /// @notice Module addresses: fixed by the ledger (runtime/modules/registry.ts).
    ILearn public constant LEARN = ILearn(0x0000000000000000000000000000000000000a02);
    INFTRegistry public constant NFT_REGISTRY = INFTRegistry(0x0000000000000000000000000000000000000a03);
    IEscrow public constant ESCROW = IEscrow(0x0000000000000000000000000000000000000a04);

    /// @notice Longest completion window a course may have (keeps every deadline inside uint64).
    uint64 public constant MAX_DURATION = 3650 days;
    /// @notice Gas given to the certificate mint (native mint plus the student's onERC721Received). complete()
    ///         requires this much to be available, so a caller cannot make the mint fail by starving it of gas.
    uint256 public constant CERTIFICATE_MINT_GAS = 300_000;

    struct Course {
        address teacher;
        IAzoraCollection certificates;
        uint256 price; // in LEARN (18 decimals)
        uint64 duration; // seconds from purchase to the escrow deadline
        bool active;
    }

    enum PurchaseStatus {
        None,
        Paid, // LEARN in escrow
        Completed, // released to the teacher, certificate minted
        Refunded // LEARN returned to the student
    }

    struct Purchase {
        uint256 courseId;
        address student;
        uint256 amount;
        uint256 escrowId;
        uint64 deadline;
        PurchaseStatus status;
        uint256 certificateId; // 0 until completed (or if the student could not receive it)
    }

    uint256 public courseCount;
    mapping(uint256 courseId => Course) public courses;
    uint256 public purchaseCount;
    mapping(uint256 purchaseId => Purchase) public purchases;

    event CourseListed(
        uint256 indexed courseId, address indexed teacher, address indexed certificates, uint256 price, uint64 duration
    );
    event CourseActiveSet(uint256 indexed courseId, bool active);
    event CoursePurchased(
        uint256 indexed purchaseId,
        uint256 indexed courseId,
        address indexed student,
        uint256 escrowId,
        uint256 amount,
        uint64 deadline
    );
    event CourseCompleted(uint256 indexed purchaseId, address indexed student, uint256 certificateId);
    event CertificateMintFailed(uint256 indexed purchaseId, address indexed student, bytes reason);
    event PurchaseRefunded(uint256 indexed purchaseId, address indexed student, uint256 amount);

    error CourseNotFound(uint256 courseId);
    error CourseInactive(uint256 courseId);
    error NotTeacher(address caller);
    error InvalidPrice();
    error InvalidDuration(uint64 duration);
    error InvalidPurchaseStatus(uint256 purchaseId, PurchaseStatus status);
    error DeadlineNotReached(uint256 purchaseId, uint64 deadline);
    error DeadlinePassed(uint256 purchaseId, uint64 deadline);
    error EscrowNotRefundable(uint256 escrowId, IEscrow.Status status);
    error InvalidCertificateURI(string uri);
    error NotEnoughGasForCertificate();
    error LearnTransferFailed();

    /// @notice Lists a course; creates its certificate collection (owned by this contract, royalties to the teacher).
    function listCourse(string calldata name, string calldata symbol, uint256 price, uint64 duration)
        external
        nonReentrant
        returns (uint256 courseId, address certificates)
    {
        if (price == 0) revert InvalidPrice();
        if (duration == 0 || duration > MAX_DURATION) revert InvalidDuration(duration);
        courseId = ++courseCount;
        // The registry is native code at a fixed address (no callback into this contract); the course is stored
        // with the collection it returns.
        certificates = NFT_REGISTRY.createCollection(name, symbol, msg.sender, 0);
        courses[courseId] = Course({
            teacher: msg.sender,
            certificates: IAzoraCollection(certificates),
            price: price,
            duration: duration,
            active: true
        });
        emit CourseListed(courseId, msg.sender, certificates, price, duration);
    }

    /// @notice The teacher opens or closes a course to new purchases (open purchases are unaffected).
    function setCourseActive(uint256 courseId, bool active) external {
        Course storage c = _course(courseId);
        if (msg.sender != c.teacher) revert NotTeacher(msg.sender);
        c.active = active;
        emit CourseActiveSet(courseId, active);
    }

    /// @notice Buys a course: pulls the price in LEARN from the caller (approve this contract first) and locks it
    ///         in a native escrow (payer: this contract, payee: the teacher) until `complete` or `refund`.
    function buy(uint256 courseId) external nonReentrant returns (uint256 purchaseId) {
        Course storage c = _course(courseId);
        if (!c.active) revert CourseInactive(courseId);
        uint256 amount = c.price;
        uint64 deadline = uint64(block.timestamp) + c.duration;

        // Effects: the purchase exists (status Paid) before any module is called.
        purchaseId = ++purchaseCount;
        Purchase storage p = purchases[purchaseId];
        p.courseId = courseId;
        p.student = msg.sender;
        p.amount = amount;
        p.deadline = deadline;
        p.status = PurchaseStatus.Paid;

        // Interactions, all with native modules: pull the price, let the escrow pull it from here, open the escrow.
        if (!LEARN.transferFrom(msg.sender, address(this), amount)) revert LearnTransferFailed();
        if (!LEARN.approve(address(ESCROW), amount)) revert LearnTransferFailed();
        uint256 escrowId = ESCROW.create(
            c.teacher, address(this), address(LEARN), amount, deadline, keccak256(abi.encode(address(this), purchaseId))
        );
        p.escrowId = escrowId; // known only once the escrow exists
        emit CoursePurchased(purchaseId, courseId, msg.sender, escrowId, amount, deadline);
    }

    /// @notice The teacher marks a purchase completed, before its deadline: the escrow is released to the teacher
    ///         and a certificate (`uri`, an ipfs:// URI) is minted to the student.
    function complete(uint256 purchaseId, string calldata uri) external nonReentrant returns (uint256 certificateId) {
        Purchase storage p = purchases[purchaseId];
        if (p.status != PurchaseStatus.Paid) revert InvalidPurchaseStatus(purchaseId, p.status);
        Course storage c = courses[p.courseId];
        if (msg.sender != c.teacher) revert NotTeacher(msg.sender);
        // From the deadline on the purchase belongs to the refund path (the teacher cannot race the student).
        if (block.timestamp >= p.deadline) revert DeadlinePassed(purchaseId, p.deadline);
        // Checked here so a bad URI reverts the completion instead of paying the teacher without a certificate.
        if (!_isIpfsURI(uri)) revert InvalidCertificateURI(uri);

        // Effects first: this purchase can never be completed or refunded again.
        p.status = PurchaseStatus.Completed;

        // Pays the teacher (the escrow's payee). Reverts the whole completion if the escrow was already refunded.
        ESCROW.release(p.escrowId);

        // The certificate. The student may be a contract (onERC721Received runs): with a fixed gas budget and
        // try/catch, a student that refuses the token only loses its certificate, never the teacher's payment.
        if (gasleft() < CERTIFICATE_MINT_GAS + CERTIFICATE_MINT_GAS / 63 + 20_000) revert NotEnoughGasForCertificate();
        try c.certificates.mint{gas: CERTIFICATE_MINT_GAS}(p.student, uri) returns (uint256 tokenId) {
            certificateId = tokenId;
            p.certificateId = tokenId;
        } catch (bytes memory reason) {
            emit CertificateMintFailed(purchaseId, p.student, reason);
        }
        emit CourseCompleted(purchaseId, p.student, certificateId);
    }

    /// @notice Refunds a purchase that was not completed: from its deadline on (anyone may call; the LEARN goes to the
    ///         student only), or at any time once the teacher refunded the escrow.
    function refund(uint256 purchaseId) external nonReentrant {
        Purchase storage p = purchases[purchaseId];
        if (p.status != PurchaseStatus.Paid) revert InvalidPurchaseStatus(purchaseId, p.status);
        (,,,,,,, IEscrow.Status escrowStatus) = ESCROW.escrows(p.escrowId);
        // As the escrow counts it: refundable by anyone from the deadline on, disputable only before it.
        bool deadlinePassed = block.timestamp >= p.deadline;
        if (escrowStatus == IEscrow.Status.Active || escrowStatus == IEscrow.Status.Disputed) {
            if (!deadlinePassed) revert DeadlineNotReached(purchaseId, p.deadline);
        } else if (escrowStatus != IEscrow.Status.Refunded) {
            revert EscrowNotRefundable(p.escrowId, escrowStatus);
        }

        // Effects first: this purchase can never be completed or refunded again.
        p.status = PurchaseStatus.Refunded;

        // Bring the LEARN back here (the escrow's payer), then forward it to the student.
        if (escrowStatus == IEscrow.Status.Active) {
            ESCROW.refund(p.escrowId);
        } else if (escrowStatus == IEscrow.Status.Disputed) {
            // This contract never disputes, so the teacher (payee) did, e.g. to stall the refund past the
            // deadline: as the arbiter, this contract settles it with nothing to the teacher.
            ESCROW.resolve(p.escrowId, 0);
        }
        if (!LEARN.transfer(p.student, p.amount)) revert LearnTransferFailed();
        emit PurchaseRefunded(purchaseId, p.student, p.amount);
    }

    function _course(uint256 courseId) private view returns (Course storage c) {
        c = courses[courseId];
        if (c.teacher == address(0)) revert CourseNotFound(courseId);
    }

    /// @dev True for "ipfs://" followed by at least one character (the collection enforces the same prefix).
    function _isIpfsURI(string calldata uri) private pure returns (bool) {
        bytes calldata b = bytes(uri);
        return b.length > 7 && bytes7(b[:7]) == bytes7("ipfs://");
    }
}
