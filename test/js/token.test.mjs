// ERC20 (OpenZeppelin) deployment, transfers, allowances, Transfer/Approval
// events and eth_getLogs by address, topics and block range.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, expectRpcError } from './lib/node.mjs';
import { artifact, deploy, devWallet, fundedWallets } from './lib/contracts.mjs';
import { q, sortedKeys, LOG_KEYS, RECEIPT_KEYS, toHex } from './lib/util.mjs';

const ctx = useNode('token');
const SUPPLY = ethers.parseUnits('1000000', 18);
const TRANSFER_TOPIC = ethers.id('Transfer(address,address,uint256)');
const APPROVAL_TOPIC = ethers.id('Approval(address,address,uint256)');
const pad = (addr) => ethers.zeroPadValue(addr.toLowerCase(), 32);

const st = {};

test('deploy TestToken: receipt has contractAddress, code matches artifact, metadata reads', async () => {
  const node = ctx.node;
  const provider = node.provider();
  st.owner = devWallet(provider);
  [st.alice, st.bob] = await fundedWallets(st.owner, 2, ethers.parseEther('1'));
  st.fromBlock = await provider.getBlockNumber();
  st.token = await deploy(st.owner, 'TestToken', ['Test Token', 'TST', SUPPLY]);
  st.address = await st.token.getAddress();

  const deployTx = st.token.deploymentTransaction();
  const receipt = await node.rpc('eth_getTransactionReceipt', [deployTx.hash]);
  assert.deepEqual(sortedKeys(receipt), RECEIPT_KEYS);
  assert.equal(receipt.status, '0x1');
  assert.equal(receipt.to, null);
  assert.equal(receipt.contractAddress, st.address.toLowerCase());
  assert.equal(st.address, ethers.getCreateAddress({ from: st.owner.address, nonce: deployTx.nonce }));
  // The mint emits Transfer(0x0 -> owner).
  assert.equal(receipt.logs.length, 1);
  assert.deepEqual(receipt.logs[0].topics, [TRANSFER_TOPIC, ethers.ZeroHash, pad(st.owner.address)]);
  assert.equal(q(receipt.logs[0].data), SUPPLY);

  assert.equal(await provider.getCode(st.address), artifact('TestToken').deployedBytecode);
  assert.equal(await st.token.name(), 'Test Token');
  assert.equal(await st.token.symbol(), 'TST');
  assert.equal(await st.token.decimals(), 18n);
  assert.equal(await st.token.totalSupply(), SUPPLY);
  assert.equal(await st.token.balanceOf(st.owner.address), SUPPLY);
});

test('transfer moves balances and emits Transfer', async () => {
  const amount = ethers.parseUnits('1234.5', 18);
  const tx = await st.token.transfer(st.alice.address, amount);
  const r = await tx.wait();
  assert.equal(r.status, 1);
  assert.equal(r.logs.length, 1);
  const ev = st.token.interface.parseLog(r.logs[0]);
  assert.equal(ev.name, 'Transfer');
  assert.equal(ev.args.from, st.owner.address);
  assert.equal(ev.args.to, st.alice.address);
  assert.equal(ev.args.value, amount);
  assert.equal(r.logs[0].address, st.address);
  assert.equal(r.logs[0].blockHash, r.blockHash);
  assert.equal(r.logs[0].transactionHash, r.hash);
  assert.equal(await st.token.balanceOf(st.alice.address), amount);
  assert.equal(await st.token.balanceOf(st.owner.address), SUPPLY - amount);
  // Historical state reads.
  assert.equal(await st.token.balanceOf(st.alice.address, { blockTag: r.blockNumber - 1 }), 0n);
  st.transferBlock = r.blockNumber;
});

test('approve + transferFrom, Approval event, allowance decreases; over-allowance reverts with custom error', async () => {
  const allowance = ethers.parseUnits('100', 18);
  const r1 = await (await st.token.connect(st.alice).approve(st.bob.address, allowance)).wait();
  assert.equal(r1.status, 1);
  const ap = st.token.interface.parseLog(r1.logs[0]);
  assert.equal(ap.name, 'Approval');
  assert.deepEqual([ap.args.owner, ap.args.spender, ap.args.value], [st.alice.address, st.bob.address, allowance]);
  assert.equal(await st.token.allowance(st.alice.address, st.bob.address), allowance);

  const r2 = await (await st.token.connect(st.bob).transferFrom(st.alice.address, st.bob.address, 40n * 10n ** 18n)).wait();
  assert.equal(r2.status, 1);
  const tr = r2.logs.map((l) => st.token.interface.parseLog(l)).find((e) => e.name === 'Transfer');
  assert.deepEqual([tr.args.from, tr.args.to, tr.args.value], [st.alice.address, st.bob.address, 40n * 10n ** 18n]);
  assert.equal(await st.token.allowance(st.alice.address, st.bob.address), 60n * 10n ** 18n);
  assert.equal(await st.token.balanceOf(st.bob.address), 40n * 10n ** 18n);

  // OZ 5 reverts with ERC20InsufficientAllowance(spender, allowance, needed).
  await assert.rejects(
    st.token.connect(st.bob).transferFrom.staticCall(st.alice.address, st.bob.address, 61n * 10n ** 18n),
    (e) => {
      assert.equal(e.code, 'CALL_EXCEPTION');
      assert.equal(e.revert?.name, 'ERC20InsufficientAllowance');
      assert.deepEqual([...e.revert.args], [st.bob.address, 60n * 10n ** 18n, 61n * 10n ** 18n]);
      return true;
    },
  );
  // Insufficient balance: ERC20InsufficientBalance on estimateGas (sendTransaction estimates first).
  await assert.rejects(st.token.connect(st.bob).transfer(st.alice.address, 10n ** 30n), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.action, 'estimateGas');
    const parsed = st.token.interface.parseError(e.data);
    assert.equal(parsed?.name, 'ERC20InsufficientBalance');
    assert.deepEqual([...parsed.args], [st.bob.address, 40n * 10n ** 18n, 10n ** 30n]);
    return true;
  });
  st.lastBlock = r2.blockNumber;
});

test('eth_getLogs by address, by topics (with OR and null wildcards) and by block range', async () => {
  const node = ctx.node;
  const provider = st.owner.provider;
  const all = await node.rpc('eth_getLogs', [{ address: st.address, fromBlock: toHex(st.fromBlock), toBlock: 'latest' }]);
  // mint, transfer, approve, transferFrom (Transfer only in OZ 5: no Approval on spend)
  assert.deepEqual(all.map((l) => l.topics[0]), [TRANSFER_TOPIC, TRANSFER_TOPIC, APPROVAL_TOPIC, TRANSFER_TOPIC]);
  for (const l of all) {
    assert.deepEqual(sortedKeys(l), LOG_KEYS);
    assert.equal(l.address, st.address.toLowerCase());
    assert.equal(l.removed, false);
    const b = await node.rpc('eth_getBlockByNumber', [l.blockNumber, false]);
    assert.equal(l.blockHash, b.hash);
    assert.equal(l.blockTimestamp, b.timestamp);
  }
  // Ordered by block then log index.
  for (let i = 1; i < all.length; i++) {
    const a = [q(all[i - 1].blockNumber), q(all[i - 1].logIndex)];
    const b = [q(all[i].blockNumber), q(all[i].logIndex)];
    assert.ok(b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]));
  }

  // Topic filters.
  const toAlice = await provider.getLogs({ address: st.address, fromBlock: st.fromBlock, topics: [TRANSFER_TOPIC, null, pad(st.alice.address)] });
  assert.equal(toAlice.length, 1);
  assert.equal(toAlice[0].blockNumber, st.transferBlock);
  const fromAliceOrOwner = await provider.getLogs({
    address: st.address, fromBlock: st.fromBlock,
    topics: [TRANSFER_TOPIC, [pad(st.alice.address), pad(st.owner.address)]],
  });
  assert.equal(fromAliceOrOwner.length, 2);
  const eitherEvent = await provider.getLogs({ address: st.address, fromBlock: st.fromBlock, topics: [[TRANSFER_TOPIC, APPROVAL_TOPIC]] });
  assert.equal(eitherEvent.length, 4);
  const approvals = await provider.getLogs({ fromBlock: st.fromBlock, topics: [APPROVAL_TOPIC] });
  assert.equal(approvals.length, 1);
  const none = await provider.getLogs({ address: st.address, fromBlock: st.fromBlock, topics: [ethers.id('Nope()')] });
  assert.deepEqual(none, []);

  // Address list and unrelated address.
  const multi = await node.rpc('eth_getLogs', [{ address: [st.address, ethers.Wallet.createRandom().address], fromBlock: toHex(st.fromBlock) }]);
  assert.equal(multi.length, 4);
  const other = await node.rpc('eth_getLogs', [{ address: ethers.Wallet.createRandom().address, fromBlock: '0x0' }]);
  assert.deepEqual(other, []);

  // Block range: exactly the transfer block.
  const inRange = await node.rpc('eth_getLogs', [{ address: st.address, fromBlock: toHex(st.transferBlock), toBlock: toHex(st.transferBlock) }]);
  assert.equal(inRange.length, 1);
  assert.equal(q(inRange[0].blockNumber), BigInt(st.transferBlock));
  // By block hash.
  const byHash = await node.rpc('eth_getLogs', [{ blockHash: inRange[0].blockHash }]);
  assert.deepEqual(byHash.filter((l) => l.address === st.address.toLowerCase()), inRange);
  // Default range is latest..latest.
  const head = await provider.getBlockNumber();
  const dflt = await node.rpc('eth_getLogs', [{ address: st.address }]);
  assert.ok(dflt.every((l) => q(l.blockNumber) === BigInt(head)));
  // Reversed range.
  const reversed = await expectRpcError(node.rpc('eth_getLogs', [{ fromBlock: toHex(head - 1), toBlock: toHex(head - 2) }]));
  assert.deepEqual(reversed, { code: -32602, message: 'invalid block range params' });

  // Errors as geth answers them.
  const both = await expectRpcError(node.rpc('eth_getLogs', [{ blockHash: inRange[0].blockHash, fromBlock: '0x1' }]));
  assert.equal(both.message, 'invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other');
  assert.equal(both.code, -32602);
  const unknownHash = await expectRpcError(node.rpc('eth_getLogs', [{ blockHash: '0x' + '12'.repeat(32) }]));
  assert.equal(unknownHash.message, 'unknown block');
  const beyond = await expectRpcError(node.rpc('eth_getLogs', [{ fromBlock: toHex(head + 1000), toBlock: toHex(head + 1001) }]));
  assert.deepEqual(beyond, { code: -32602, message: 'block range extends beyond current head block' });
});
