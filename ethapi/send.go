package ethapi

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/holiman/uint256"
)

// SendAPI holds the eth_ methods that sign with the node's accounts:
// eth_sendTransaction and eth_signTransaction, as geth serves them. An
// account signs once unlocked (cocogeth --unlock); a locked one answers
// "authentication needed: password or unlock", an account the node does
// not hold "unknown account". It signs with the wallets of the backend's
// account manager, whose backends the node's owner adds (cocogeth: the
// keystore, --unlock accounts unlocked).
type SendAPI struct {
	b      Backend
	cfg    Config
	nonces addrLocker
}

// addrLocker serialises nonce assignment per account, so two concurrent
// eth_sendTransaction calls of one account do not take the same nonce.
type addrLocker struct {
	mu    sync.Mutex
	locks map[common.Address]*sync.Mutex
}

func (l *addrLocker) lock(addr common.Address) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = make(map[common.Address]*sync.Mutex)
	}
	m, ok := l.locks[addr]
	if !ok {
		m = new(sync.Mutex)
		l.locks[addr] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

var errBlobTxNotSupported = errors.New("signing blob transactions not supported")

// wallet finds the wallet of the node that holds addr.
func (api *SendAPI) wallet(addr common.Address) (accounts.Wallet, accounts.Account, error) {
	account := accounts.Account{Address: addr}
	am := api.b.AccountManager()
	if am == nil {
		return nil, account, accounts.ErrUnknownAccount
	}
	w, err := am.Find(account)
	return w, account, err
}

// SendTransaction fills in what the transaction leaves out as geth does
// (nonce: the account's pending nonce; gas: an estimate; fees: the
// suggested tip and twice the head's base fee on top; chain id: the
// node's), signs it with the unlocked account "from" and submits it like
// eth_sendRawTransaction. It returns the transaction hash.
func (api *SendAPI) SendTransaction(ctx context.Context, args TransactionArgs) (common.Hash, error) {
	wallet, account, err := api.wallet(args.from())
	if err != nil {
		return common.Hash{}, err
	}
	if args.Nonce == nil {
		// Hold the account's lock from choosing the nonce until the pool
		// has the transaction.
		defer api.nonces.lock(args.from())()
	}
	if args.BlobHashes != nil {
		return common.Hash{}, errBlobTxNotSupported
	}
	if err := api.setDefaults(ctx, &args); err != nil {
		return common.Hash{}, err
	}
	tx := args.toTransaction()
	signed, err := wallet.SignTx(account, tx, api.b.ChainConfig().ChainID)
	if err != nil {
		return common.Hash{}, err
	}
	return api.submit(ctx, signed)
}

// submit admits a signed transaction, with eth_sendRawTransaction's fee cap.
func (api *SendAPI) submit(ctx context.Context, tx *types.Transaction) (common.Hash, error) {
	if err := checkTxFee(tx.GasPrice(), tx.Gas(), api.cfg.TxFeeCap); err != nil {
		return common.Hash{}, err
	}
	if err := api.b.SendTx(ctx, tx); err != nil {
		return common.Hash{}, err
	}
	from, _ := types.Sender(types.LatestSigner(api.b.ChainConfig()), tx)
	if tx.To() == nil {
		log.Info("Submitted contract creation", "hash", tx.Hash(), "from", from, "nonce", tx.Nonce(),
			"contract", crypto.CreateAddress(from, tx.Nonce()), "value", tx.Value())
	} else {
		log.Info("Submitted transaction", "hash", tx.Hash(), "from", from, "nonce", tx.Nonce(),
			"recipient", tx.To(), "value", tx.Value())
	}
	return tx.Hash(), nil
}

// signTransactionResult is the answer of eth_signTransaction: the signed
// transaction encoded and as JSON.
type signTransactionResult struct {
	Raw hexutil.Bytes      `json:"raw"`
	Tx  *types.Transaction `json:"tx"`
}

// SignTransaction signs a transaction with the unlocked account "from"
// without submitting it. As in geth, gas, nonce and the fees must be given.
func (api *SendAPI) SignTransaction(ctx context.Context, args TransactionArgs) (*signTransactionResult, error) {
	if args.Gas == nil {
		return nil, errors.New("gas not specified")
	}
	if args.GasPrice == nil && (args.MaxPriorityFeePerGas == nil || args.MaxFeePerGas == nil) {
		return nil, errors.New("missing gasPrice or maxFeePerGas/maxPriorityFeePerGas")
	}
	if args.Nonce == nil {
		return nil, errors.New("nonce not specified")
	}
	if args.BlobHashes != nil {
		return nil, errBlobTxNotSupported
	}
	if err := api.setDefaults(ctx, &args); err != nil {
		return nil, err
	}
	tx := args.toTransaction()
	if err := checkTxFee(tx.GasPrice(), tx.Gas(), api.cfg.TxFeeCap); err != nil {
		return nil, err
	}
	wallet, account, err := api.wallet(args.from())
	if err != nil {
		return nil, err
	}
	signed, err := wallet.SignTx(account, tx, api.b.ChainConfig().ChainID)
	if err != nil {
		return nil, err
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &signTransactionResult{Raw: raw, Tx: signed}, nil
}

// setDefaults fills in the fields of a transaction to sign, with geth's
// rules and messages (internal/ethapi TransactionArgs.setDefaults).
func (api *SendAPI) setDefaults(ctx context.Context, args *TransactionArgs) error {
	if err := api.setFeeDefaults(args); err != nil {
		return err
	}
	if args.Value == nil {
		args.Value = new(hexutil.Big)
	}
	if args.Nonce == nil {
		nonce := api.b.PoolNonce(args.from())
		args.Nonce = (*hexutil.Uint64)(&nonce)
	}
	if err := args.checkDataInput(); err != nil {
		return err
	}
	if args.To == nil {
		if len(args.data()) == 0 {
			return errors.New(`contract creation without any data provided`)
		}
		if args.AuthorizationList != nil {
			return errors.New(`authorizationList provided for contract creation, but "to" field is missing`)
		}
	}
	if args.Gas == nil {
		data := args.data()
		callArgs := TransactionArgs{
			From:                 args.From,
			To:                   args.To,
			GasPrice:             args.GasPrice,
			MaxFeePerGas:         args.MaxFeePerGas,
			MaxPriorityFeePerGas: args.MaxPriorityFeePerGas,
			Value:                args.Value,
			Data:                 (*hexutil.Bytes)(&data),
			AccessList:           args.AccessList,
			AuthorizationList:    args.AuthorizationList,
		}
		gas, err := (&EthAPI{b: api.b, cfg: api.cfg}).EstimateGas(ctx, callArgs, nil, nil, nil)
		if err != nil {
			return err
		}
		args.Gas = &gas
	}
	want := api.b.ChainConfig().ChainID
	if err := args.checkChainID(want); err != nil {
		return err
	}
	if args.ChainID == nil {
		args.ChainID = (*hexutil.Big)(new(big.Int).Set(want))
	}
	return nil
}

// setFeeDefaults fills in the fee fields: with London, the suggested tip
// and a fee cap of tip + 2 × the head's base fee; before it, the suggested
// gas price.
func (api *SendAPI) setFeeDefaults(args *TransactionArgs) error {
	if args.GasPrice != nil && (args.MaxFeePerGas != nil || args.MaxPriorityFeePerGas != nil) {
		return errors.New("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
	}
	if args.GasPrice != nil && args.AuthorizationList != nil {
		return errors.New("both gasPrice and authorizationList specified")
	}
	if args.GasPrice == nil && args.MaxFeePerGas != nil && args.MaxPriorityFeePerGas != nil {
		if args.MaxFeePerGas.ToInt().Sign() == 0 {
			return errors.New("maxFeePerGas must be non-zero")
		}
		return checkFeeOrder(args)
	}
	head := api.b.CurrentHeader()
	london := api.b.ChainConfig().IsLondon(head.Number)
	if args.GasPrice != nil {
		if args.GasPrice.ToInt().Sign() == 0 && london {
			return errors.New("gasPrice must be non-zero after london fork")
		}
		return nil
	}
	if !london {
		if args.MaxFeePerGas != nil || args.MaxPriorityFeePerGas != nil {
			return errors.New("maxFeePerGas and maxPriorityFeePerGas are not valid before London is active")
		}
		args.GasPrice = (&EthAPI{b: api.b, cfg: api.cfg}).GasPrice()
		return nil
	}
	if args.MaxPriorityFeePerGas == nil {
		args.MaxPriorityFeePerGas = (&EthAPI{b: api.b, cfg: api.cfg}).MaxPriorityFeePerGas()
	}
	if args.MaxFeePerGas == nil {
		fee := new(big.Int).Mul(head.BaseFee, big.NewInt(2))
		args.MaxFeePerGas = (*hexutil.Big)(fee.Add(fee, args.MaxPriorityFeePerGas.ToInt()))
	}
	return checkFeeOrder(args)
}

func checkFeeOrder(args *TransactionArgs) error {
	if args.MaxFeePerGas.ToInt().Cmp(args.MaxPriorityFeePerGas.ToInt()) < 0 {
		return fmt.Errorf("maxFeePerGas (%v) < maxPriorityFeePerGas (%v)", args.MaxFeePerGas, args.MaxPriorityFeePerGas)
	}
	return nil
}

// toTransaction builds the unsigned transaction of defaulted arguments:
// EIP-1559 unless a gasPrice is given (legacy, or EIP-2930 with an access
// list), EIP-7702 with an authorization list.
func (args *TransactionArgs) toTransaction() *types.Transaction {
	al := types.AccessList{}
	if args.AccessList != nil {
		al = *args.AccessList
	}
	switch {
	case args.GasPrice != nil && args.AccessList != nil:
		return types.NewTx(&types.AccessListTx{
			ChainID: args.ChainID.ToInt(), Nonce: uint64(*args.Nonce), GasPrice: args.GasPrice.ToInt(),
			Gas: uint64(*args.Gas), To: args.To, Value: args.Value.ToInt(), Data: args.data(), AccessList: al,
		})
	case args.GasPrice != nil:
		return types.NewTx(&types.LegacyTx{
			Nonce: uint64(*args.Nonce), GasPrice: args.GasPrice.ToInt(), Gas: uint64(*args.Gas),
			To: args.To, Value: args.Value.ToInt(), Data: args.data(),
		})
	case args.AuthorizationList != nil:
		return types.NewTx(&types.SetCodeTx{
			ChainID: uint256.MustFromBig(args.ChainID.ToInt()), Nonce: uint64(*args.Nonce),
			GasTipCap: uint256.MustFromBig(args.MaxPriorityFeePerGas.ToInt()),
			GasFeeCap: uint256.MustFromBig(args.MaxFeePerGas.ToInt()),
			Gas:       uint64(*args.Gas), To: *args.To, Value: uint256.MustFromBig(args.Value.ToInt()),
			Data: args.data(), AccessList: al, AuthList: args.AuthorizationList,
		})
	}
	return types.NewTx(&types.DynamicFeeTx{
		ChainID: args.ChainID.ToInt(), Nonce: uint64(*args.Nonce),
		GasTipCap: args.MaxPriorityFeePerGas.ToInt(), GasFeeCap: args.MaxFeePerGas.ToInt(),
		Gas: uint64(*args.Gas), To: args.To, Value: args.Value.ToInt(), Data: args.data(), AccessList: al,
	})
}
