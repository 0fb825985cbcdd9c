// web3.js 4: deploy, ETH transfer, contract call/send and events, so both
// client libraries are exercised against the node.
import assert from 'node:assert/strict';
import { Web3 } from 'web3';
import { useNode, test, DEV_KEY, DEV_ADDRESS } from './lib/node.mjs';
import { artifact } from './lib/contracts.mjs';
import { withStableHead } from './lib/util.mjs';

const ctx = useNode('web3');

test('web3.js: chain id, balance, ETH transfer (signed locally), deploy TestToken, call and send', async () => {
  const web3 = new Web3(ctx.node.httpUrl);
  web3.setConfig({ transactionPollingInterval: 50, transactionReceiptPollingInterval: 50, transactionConfirmationPollingInterval: 50 });
  const account = web3.eth.accounts.privateKeyToAccount(DEV_KEY);
  web3.eth.accounts.wallet.add(account);
  assert.equal(account.address, DEV_ADDRESS);

  assert.equal(await web3.eth.getChainId(), 1337n);
  assert.equal(await web3.eth.net.getId(), 1337n);
  assert.ok((await web3.eth.getBalance(DEV_ADDRESS)) > 0n);

  // ETH transfer.
  const to = web3.eth.accounts.create().address;
  const receipt = await web3.eth.sendTransaction({ from: DEV_ADDRESS, to, value: 123456789n, gas: 21000n });
  assert.equal(receipt.status, 1n);
  assert.equal(receipt.gasUsed, 21000n);
  assert.equal(await web3.eth.getBalance(to), 123456789n);
  const tx = await web3.eth.getTransaction(receipt.transactionHash);
  assert.equal(tx.to.toLowerCase(), to.toLowerCase());
  assert.equal(tx.value, 123456789n);

  // Deploy.
  const a = artifact('TestToken');
  const Token = new web3.eth.Contract(a.abi);
  const supply = 10n ** 24n;
  const token = await Token.deploy({ data: a.bytecode, arguments: ['Web3 Token', 'W3T', supply] }).send({ from: DEV_ADDRESS });
  assert.ok(token.options.address);
  assert.equal(await web3.eth.getCode(token.options.address), a.deployedBytecode);

  // Calls.
  assert.equal(await token.methods.name().call(), 'Web3 Token');
  assert.equal(await token.methods.totalSupply().call(), supply);
  assert.equal(await token.methods.balanceOf(DEV_ADDRESS).call(), supply);

  // Send + event.
  const r = await token.methods.transfer(to, 1000n).send({ from: DEV_ADDRESS });
  assert.equal(r.status, 1n);
  const ev = r.events.Transfer;
  assert.equal(ev.returnValues.from.toLowerCase(), DEV_ADDRESS.toLowerCase());
  assert.equal(ev.returnValues.to.toLowerCase(), to.toLowerCase());
  assert.equal(ev.returnValues.value, 1000n);
  assert.equal(await token.methods.balanceOf(to).call(), 1000n);
  const past = await token.getPastEvents('Transfer', { fromBlock: 0, toBlock: 'latest' });
  assert.equal(past.length, 2);

  // Revert reason surfaces through web3 too.
  await assert.rejects(token.methods.transfer(DEV_ADDRESS, 10n ** 30n).call({ from: to }), (e) => {
    const text = JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) + String(e.message);
    assert.match(text, /ERC20InsufficientBalance|0xe450d38c/);
    return true;
  });

  // Blocks and fee data.
  const { block, number } = await withStableHead(ctx.node, async () => ({
    block: await web3.eth.getBlock('latest'),
    number: await web3.eth.getBlockNumber(),
  }));
  assert.equal(typeof block.baseFeePerGas, 'bigint');
  assert.equal(block.number, number);
  assert.ok((await web3.eth.getGasPrice()) > 0n);
});
